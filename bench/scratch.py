"""A scratch folder for one benchmark run, removed when the run ends.

Benchmarks write gigabytes (a million payments, ten million log rows); folders left
in the temporary directory after each run filled this machine's disk once.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def scratch_folder(prefix: str = "paydeck-bench-") -> Path:
    """A new temporary folder, deleted at exit (after the run has stopped its servers)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
