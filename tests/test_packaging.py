"""`pip install .` gives a working paydeck: the wheel carries the code, templates, static files, stored
GraphQL operations and migrations, and pyproject's dependency ranges admit requirements.txt's pins."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".venv", ".data", ".git", "build", "*.egg-info", "__pycache__", "test-artifacts",
                              ".pytest_cache", ".ruff_cache", "node_modules")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.strip().partition("==")
        if version:
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_every_declared_dependency_admits_its_pinned_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    for spec in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is declared in pyproject.toml but not pinned in requirements.txt"
        assert req.specifier.contains(pins[name]), f"{spec} does not admit the pinned {name}=={pins[name]}"


@pytest.mark.slow
def test_the_wheel_carries_everything_the_app_reads(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("paydeck-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    expected = {"piccolo_conf.py", *(str(p.relative_to(ROOT)) for folder in ("server", "db")
                                     for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)}
    for folder, package in (("web/templates", "paydeck_web/templates"), ("web/static", "paydeck_web/static"),
                            ("graphql/operations", "paydeck_graphql/operations")):
        expected |= {f"{package}/{p.relative_to(ROOT / folder)}" for p in (ROOT / folder).rglob("*") if p.is_file()}
    expected |= {f"db/migrations/{p.name}" for p in (ROOT / "db" / "migrations").glob("*.py")}
    assert expected - names == set()
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "paydeck = server.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
