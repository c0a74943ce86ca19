"""`make bench`: run every benchmark in bench/, each rewriting its own section of BENCHMARKS.md.

    .venv/bin/python -m bench.run            # all of them
    .venv/bin/python -m bench.run ledger     # some of them
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> dict[str, str]:
    found = {}
    for folder in sorted(p for p in HERE.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        if (folder / "__main__.py").exists():
            found[folder.name] = f"bench.{folder.name}"
        elif (folder / "run.py").exists():
            found[folder.name] = f"bench.{folder.name}.run"
    return found


def main(names: list[str]) -> int:
    available = benchmarks()
    chosen = names or list(available)
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    failed = []
    for name in chosen:
        print(f"\n=== bench {name}: python -m {available[name]}", flush=True)
        if subprocess.run([sys.executable, "-m", available[name]]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
