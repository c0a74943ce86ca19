"""Each benchmark rewrites only its own section of BENCHMARKS.md, between `<!-- name:start -->` and
`<!-- name:end -->`; a section not there yet is appended."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, text: str, path: Path = BENCHMARKS) -> None:
    start, end = markers(name)
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{start}\n{text.strip()}\n{end}"
    if start in current and end in current:
        head, rest = current.split(start, 1)
        current = head + section + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + section + "\n"
    path.write_text(current)
