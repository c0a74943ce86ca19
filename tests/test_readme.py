"""README.md documents every setting and every `paydeck` command."""

from __future__ import annotations

from pathlib import Path

from server.cli import main
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# A domain's own page (docs/<domain>.md, linked from the README) may document its settings.
DOCS = README + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        env = field.validation_alias.choices[0] if field.validation_alias else f"PAYDECK_{name.upper()}"
        assert f"`{env}`" in DOCS, f"document {env} in README.md Settings"


def test_every_command_is_documented():
    for name in main.commands:
        assert f"`paydeck {name}" in README, f"document `paydeck {name}` in README.md"
