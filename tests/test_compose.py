"""compose.yaml must validate with the Compose client available here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_validates():
    command = compose_command()
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("no docker compose client; .ci/run installs docker-compose")
        pytest.skip("no docker compose client installed")
    result = subprocess.run([*command, "-f", str(ROOT / "compose.yaml"), "config", "-q"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_compose_has_every_part_with_health_checks():
    import yaml

    config = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = config["services"]
    assert {"postgres", "redis", "meilisearch", "web", "worker"} <= set(services)
    for name in ("postgres", "redis", "meilisearch", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert services["web"]["build"] == "." and services["worker"]["build"] == "."
    assert {"postgres-data", "redis-data", "meili-data"} <= set(config["volumes"])
