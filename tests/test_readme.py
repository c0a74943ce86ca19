"""README.md documents every setting and every `paydeck` command."""

from __future__ import annotations

from pathlib import Path

from server.cli import main
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        env = field.validation_alias.choices[0] if field.validation_alias else f"PAYDECK_{name.upper()}"
        assert f"`{env}`" in README, f"document {env} in README.md Settings"


def test_every_command_is_documented():
    for name in main.commands:
        assert f"`paydeck {name}" in README, f"document `paydeck {name}` in README.md"
