"""CPU per operation of each process tree, and the throughput ratio it allows.

On this project's 2-core machine the HTTP benchmarks' loops are bound by CPU: the load generator, the app's web
processes, PostgreSQL, Redis and (for payments) the processor simulator all run on those cores. A loop then
completes at most

    rate = min(cores ÷ machine CPU per operation, for each capped tree: its cores ÷ its CPU per operation)

operations a second. The cap that matters is the load generator's: it is one Python process, so it can use at
most one core, and for a trivial request (/healthz) it costs more than the app does; the /healthz reference
then runs at 1 ÷ (load generator's CPU per request) with the machine's second core partly idle. The ratios
the aims ask for (payments ÷ (healthz ÷ 2), credits or transfers ÷ healthz) follow as

    ratio = per_reference × rate(operation) ÷ rate(reference)

(per_reference is 2 for a payment: the aim counts its two calls against two /healthz requests), and the best
ratio reachable if the app's own share of the operation cost nothing is the same with the app's CPU taken out
of the operation (the reference keeps its own).

`Meter` measures user + system CPU of each process tree over a window (psutil), plus the whole machine's busy
time, and `report()` prints milliseconds of CPU per operation for each tree, beside the cores the window kept
busy. A tree is a process and all its descendants: a descendant that exits during the window is counted through
its parent's `children_*` times once the parent has reaped it (PostgreSQL's postmaster reaps its backends). The
load generator is the benchmark's own process alone: its children are the other trees. Per-process times are
accounted exactly and the machine's in clock ticks, so "rest of the machine" (machine − trees) can come out a
little below zero on a half-idle machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil


@dataclass(frozen=True)
class Tree:
    label: str
    pid: int | None
    descendants: bool = True  # False: the process alone (the benchmark process, whose children are other trees)
    cores: float | None = None  # the most cores it can use (1: one Python process); None: as many as there are
    # Names the part of the tree a process is, from its command line (shown as "of which" rows), e.g. the app's
    # web processes and its API-log writer process.
    part: Callable[[str], str] | None = None
    # Each process is one Python thread: the tree is also bound by its busiest process's one core.
    one_core_each: bool = False


def app_part(cmdline: str) -> str:
    """The part of a `paydeck web` tree a process is: a web process, the API-log writer, or the rest."""
    if "apilogs.writerproc" in cmdline:
        return "API-log writer process"
    if "spawn_main" in cmdline:
        return "web processes"
    return "parent process (supervisor, resource tracker)"


def app_tree(label: str, pid: int | None) -> Tree:
    """The app's `paydeck web` processes, split into their parts, each process bound to one core."""
    return Tree(label, pid, part=app_part, one_core_each=True)


Snapshot = dict[tuple[int, float], tuple[str, float]]  # (pid, start time) → (part, CPU seconds so far)


def tree_processes(tree: Tree) -> Snapshot:
    """User + system CPU seconds used so far by each of the tree's processes (with the children it reaped)."""
    if tree.pid is None:
        return {}
    try:
        root = psutil.Process(tree.pid)
        processes = [root] + (root.children(recursive=True) if tree.descendants else [])
    except psutil.NoSuchProcess:
        return {}
    found: Snapshot = {}
    for process in processes:
        try:
            with process.oneshot():
                times = process.cpu_times()
                key = (process.pid, process.create_time())
                part = tree.part(" ".join(process.cmdline())) if tree.part else ""
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seconds = times.user + times.system
        if tree.descendants:
            seconds += times.children_user + times.children_system
        found[key] = (part, seconds)
    return found


def tree_seconds(tree: Tree) -> float:
    """User + system CPU seconds used so far by the tree's processes (and the children they reaped)."""
    return sum(seconds for _, seconds in tree_processes(tree).values())


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
    caps: dict[str, float] = field(default_factory=dict)  # label → the most cores that tree can use
    machine_cores: int = field(default_factory=lambda: psutil.cpu_count() or 1)
    parts: dict[str, dict[str, float]] = field(default_factory=dict)  # label → its parts' CPU seconds
    busiest: dict[str, float] = field(default_factory=dict)  # label → its busiest process's CPU seconds

    def cores(self) -> float:
        return self.machine / self.wall if self.wall > 0 else 0.0


class Meter:
    """`start()` before a window, `stop()` after it: the CPU each tree and the machine used in between."""

    def __init__(self, trees: list[Tree]) -> None:
        self.trees = trees
        self._began: tuple[float, dict[str, Snapshot], float] | None = None

    def _now(self) -> tuple[float, dict[str, Snapshot], float]:
        return time.monotonic(), {t.label: tree_processes(t) for t in self.trees}, machine_seconds()

    def start(self) -> None:
        self._began = self._now()

    def stop(self) -> Usage:
        assert self._began is not None, "stop() without start()"
        wall0, trees0, machine0 = self._began
        wall1, trees1, machine1 = self._now()
        self._began = None
        used = Usage(wall1 - wall0, {}, machine1 - machine0,
                     caps={t.label: t.cores for t in self.trees if t.cores is not None})
        for tree in self.trees:
            before, after = trees0[tree.label], trees1[tree.label]
            # Totals, not per process: a process that exited inside the window is gone from `after`, its time
            # (all of it) now in its parent's children_* times, and its time before the window in `before`.
            used.trees[tree.label] = max(0.0, sum(s for _, s in after.values()) - sum(s for _, s in before.values()))
            if tree.part:
                parts: dict[str, float] = {}
                for snapshot, sign in ((after, 1), (before, -1)):
                    for part, seconds in snapshot.values():
                        parts[part] = parts.get(part, 0.0) + sign * seconds
                used.parts[tree.label] = {part: max(0.0, seconds) for part, seconds in sorted(parts.items())}
            if tree.one_core_each:
                used.busiest[tree.label] = max((s - before.get(key, ("", 0.0))[1] for key, (_, s) in after.items()),
                                               default=0.0)
        return used


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

    def bound(self, without: str | None = None, kept_ms: float = 0.0) -> tuple[float, str]:
        """The most operations a second the CPU allows (the tree `without` costing nothing, or only `kept_ms` per
        operation), and what binds it."""
        spared = max(0.0, self.usage.trees.get(without, 0.0) - kept_ms * self.operations / 1000) if without else 0.0
        limits = [(self.usage.machine_cores / (self.usage.machine - spared) if self.usage.machine > spared
                   else float("inf"), f"the machine's {self.usage.machine_cores} cores")]
        for label, cores in self.usage.caps.items():
            used = self.usage.trees.get(label, 0.0)
            if label != without and used > 0:
                limits.append((cores / used, f"{label} ({cores:g} core{'s' if cores != 1 else ''})"))
        for label, used in self.usage.busiest.items():
            if label != without and used > 0:
                limits.append((1 / used, f"the busiest process of {label} (1 core)"))
        seconds, binding = min(limits)
        return seconds * self.operations, binding


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
        for part in sorted({part for w in windows for part in w.usage.parts.get(label, {})}):
            lines.append(f"| … of which {part} | "
                         + " | ".join(f"{w.ms(w.usage.parts.get(label, {}).get(part, 0.0)):.2f}" for w in windows)
                         + " |")
        if any(label in w.usage.busiest for w in windows):
            lines.append("| … its busiest process | "
                         + " | ".join(f"{w.ms(w.usage.busiest.get(label, 0.0)):.2f}" for w in windows) + " |")
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
    ratio: float  # what the CPU per operation allows
    without_app: float  # the same if the app's share of the operation cost nothing
    measured: float | None  # the throughput ratio the loops gave, when known
    bindings: tuple[str, str, str]  # what bounds the reference, the operation, the operation without the app


def ceiling(reference: Window, operation: Window, app: str, per_reference: float = 1.0,
            measured: float | None = None) -> Ceiling:
    """The ratio `operation` ÷ (`reference` ÷ per_reference) the CPU per operation allows, and the best one if the
    tree labelled `app` cost nothing for `operation` (the reference keeps its own cost)."""
    ref, ref_by = reference.bound()
    op, op_by = operation.bound()
    bare, bare_by = operation.bound(without=app)
    return Ceiling(per_reference * op / ref, per_reference * bare / ref, measured, (ref_by, op_by, bare_by))


def ceiling_line(name: str, reference: Window, operation: Window, app: str, per_reference: float = 1.0,
                 measured: float | None = None, stand_ins: tuple[Window, ...] = ()) -> str:
    """`ceiling` in words; with `stand_ins`, also the ratio if the app cost for `operation` what it costs for each
    of them (another operation of the same run: the reference itself, a cheaper request)."""
    c = ceiling(reference, operation, app, per_reference, measured)
    ref, _ = reference.bound()
    op, _ = operation.bound()
    bare, _ = operation.bound(without=app)
    seen = f"measured {c.measured:.2f}; " if c.measured is not None else ""
    line = (f"{name}: {seen}CPU allows {c.ratio:.2f} ({reference.name} ≤ {ref:,.0f}/s, bound by {c.bindings[0]}; "
            f"{operation.name} ≤ {op:,.0f}/s, bound by {c.bindings[1]}); with an app costing nothing "
            f"{c.without_app:.2f} ({operation.name} ≤ {bare:,.0f}/s, bound by {c.bindings[2]})")
    for other in stand_ins:
        kept = other.per_op(app)
        as_other, _ = operation.bound(without=app, kept_ms=kept)
        line += (f"; with an app costing what {other.name} costs ({kept:.2f} ms) "
                 f"{per_reference * as_other / ref:.2f}")
    return line


def report(windows: list[Window], lines: list[str]) -> str:
    return "\n".join(["CPU per operation of each process tree (psutil user + system, ms):", "", table(windows), "",
                      *lines])
