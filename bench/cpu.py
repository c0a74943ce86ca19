"""CPU per operation of each process tree, and the throughput ratio it allows.

On this project's 2-core machine every HTTP benchmark saturates both cores: the load generator, the app's
web processes, PostgreSQL, Redis and (for payments) the processor simulator all run on them. A loop that keeps
the cores busy then completes about `cores ÷ CPU per operation` operations a second, so the ratio the aims ask
for (payments ÷ (healthz ÷ 2), credits or transfers ÷ healthz) is about

    ratio = (CPU per reference request ÷ CPU per operation) × per_reference

(per_reference is 2 for a payment: the aim counts its two calls against two /healthz requests), and if the app's
own share of an operation cost nothing, at best

    ceiling = (CPU per reference request ÷ (CPU per operation − the app's CPU per operation)) × per_reference.

`Meter` measures user + system CPU of each process tree over a window (psutil), plus the whole machine's busy
time, and `report()` prints milliseconds of CPU per operation for each tree, beside the cores the window kept
busy. A tree is a process and all its descendants: a descendant that exits during the window is counted through
its parent's `children_*` times once the parent has reaped it (PostgreSQL's postmaster reaps its backends), and
one that started before the window and exits inside it is counted whole (the benchmarks' pools keep their
connections, so their backends live across the windows). The load generator is the benchmark's own process
alone: its children are the other trees.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import psutil


@dataclass(frozen=True)
class Tree:
    label: str
    pid: int | None
    descendants: bool = True  # False: the process alone (the benchmark process, whose children are other trees)


def tree_seconds(tree: Tree) -> float:
    """User + system CPU seconds used so far by the tree's processes (and the children they reaped)."""
    if tree.pid is None:
        return 0.0
    try:
        root = psutil.Process(tree.pid)
        processes = [root] + (root.children(recursive=True) if tree.descendants else [])
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system
        if tree.descendants:
            total += times.children_user + times.children_system
    return total


def machine_seconds() -> float:
    """Busy CPU seconds of the whole machine, all cores (idle, I/O wait and steal left out)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


@dataclass
class Usage:
    """CPU seconds of one window: each tree's, and the whole machine's."""

    wall: float
    trees: dict[str, float]
    machine: float
    load: float = field(default_factory=lambda: os.getloadavg()[0])

    def cores(self) -> float:
        return self.machine / self.wall if self.wall > 0 else 0.0


class Meter:
    """`start()` before a window, `stop()` after it: the CPU each tree and the machine used in between."""

    def __init__(self, trees: list[Tree]) -> None:
        self.trees = trees
        self._began: tuple[float, dict[str, float], float] | None = None

    def _now(self) -> tuple[float, dict[str, float], float]:
        return time.monotonic(), {t.label: tree_seconds(t) for t in self.trees}, machine_seconds()

    def start(self) -> None:
        self._began = self._now()

    def stop(self) -> Usage:
        assert self._began is not None, "stop() without start()"
        wall0, trees0, machine0 = self._began
        wall1, trees1, machine1 = self._now()
        self._began = None
        return Usage(wall1 - wall0, {k: max(0.0, trees1[k] - trees0[k]) for k in trees1}, machine1 - machine0)


@dataclass
class Window:
    """One measured loop: its name, how many operations it completed, and the CPU they took."""

    name: str
    operations: int
    usage: Usage

    def ms(self, seconds: float) -> float:
        return seconds * 1000 / self.operations if self.operations else float("nan")

    def per_op(self, label: str) -> float:
        return self.ms(self.usage.trees.get(label, 0.0))

    def machine(self) -> float:
        return self.ms(self.usage.machine)


def table(windows: list[Window]) -> str:
    """A Markdown table: CPU ms per operation of each tree (rows) in each window (columns)."""
    if not windows:
        return ""
    labels = list(windows[0].usage.trees)
    lines = ["| CPU ms per operation | " + " | ".join(w.name for w in windows) + " |",
             "|---|" + "---:|" * len(windows)]
    lines.append("| operations/s | " + " | ".join(f"{w.operations / w.usage.wall:,.0f}" for w in windows) + " |")
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(f"{w.per_op(label):.2f}" for w in windows) + " |")
    lines.append("| sum of these trees | "
                 + " | ".join(f"{w.ms(sum(w.usage.trees.values())):.2f}" for w in windows) + " |")
    lines.append("| rest of the machine | "
                 + " | ".join(f"{w.ms(w.usage.machine - sum(w.usage.trees.values())):.2f}" for w in windows) + " |")
    lines.append("| **whole machine** | " + " | ".join(f"**{w.machine():.2f}**" for w in windows) + " |")
    lines.append("| cores busy (load average) | "
                 + " | ".join(f"{w.usage.cores():.2f} ({w.usage.load:.2f})" for w in windows) + " |")
    return "\n".join(lines)


@dataclass
class Ceiling:
    ratio: float  # what the CPU per operation allows with the cores saturated
    without_app: float  # the same if the app's share of the operation cost nothing
    measured: float | None  # the throughput ratio the loops gave, when known


def ceiling(reference: Window, operation: Window, app: str, per_reference: float = 1.0,
            measured: float | None = None) -> Ceiling:
    """The ratio `operation` ÷ (`reference` ÷ per_reference) allowed by whole-machine CPU per operation, and the
    best one if the tree labelled `app` cost nothing for `operation` (the reference keeps its own cost)."""
    ref, op, app_ms = reference.machine(), operation.machine(), operation.per_op(app)
    rest = op - app_ms
    return Ceiling(per_reference * ref / op if op > 0 else float("nan"),
                   per_reference * ref / rest if rest > 0 else float("inf"), measured)


def ceiling_line(name: str, reference: Window, operation: Window, app: str, per_reference: float = 1.0,
                 measured: float | None = None) -> str:
    c = ceiling(reference, operation, app, per_reference, measured)
    seen = f"measured {c.measured:.2f}; " if c.measured is not None else ""
    return (f"{name}: {seen}CPU allows {c.ratio:.2f} ({per_reference:g} × {reference.machine():.2f} ms per "
            f"{reference.name} ÷ {operation.machine():.2f} ms per {operation.name}); with an app costing nothing "
            f"{c.without_app:.2f} (the other trees and the rest of the machine take "
            f"{operation.machine() - operation.per_op(app):.2f} ms)")


def report(windows: list[Window], lines: list[str]) -> str:
    return "\n".join(["CPU per operation of each process tree (psutil user + system, ms):", "", table(windows), "",
                      *lines])
