"""The write side of API rollups: the log writer's COPY adds its rows here, in its own transaction.

See `api_metrics.py` for why this is where API metrics are kept current.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.analytics import queries
from server.analytics.api_metrics import cells_of


async def record(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
    """Add request-log rows (tuples in `columns` order) to their rollup rows; call inside the COPY's transaction."""
    await queries.add_to_api_rollups(cells_of(rows, columns))
