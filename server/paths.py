"""Where the files that live beside the code are: web/ (templates, static files) and graphql/ (operations).

In a checkout (and an editable install) they sit beside server/. An installed
wheel carries them as the packages `paydeck_web` and `paydeck_graphql`
(setup.py maps the folders to those names).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def _folder(name: str) -> Path:
    beside = CHECKOUT / name
    if (CHECKOUT / "pyproject.toml").is_file() and beside.is_dir():
        return beside
    spec = importlib.util.find_spec(f"paydeck_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"Paydeck's {name}/ folder is missing: reinstall the paydeck package")
    return Path(next(iter(spec.submodule_search_locations)))


WEB = _folder("web")
GRAPHQL = _folder("graphql")
