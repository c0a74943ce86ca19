"""bench/cpu.py: the CPU a process tree used over a window, its exited children included, and the ratio it allows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from bench.cpu import Meter, Tree, Usage, Window, ceiling, table

# Burns `seconds` of its own CPU time (not wall time: the machine may be busy).
BURN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"

# A parent that burns 0.3 s, starts a child that burns 0.4 s and reaps it, then waits to be told to exit.
PARENT = textwrap.dedent("""
    import subprocess, sys
    exec({burn!r})
    subprocess.run([sys.executable, "-c", {child!r}], check=True)
    print("done", flush=True)
    sys.stdin.readline()
""")


def test_a_tree_counts_its_own_time_and_its_reaped_childs_but_not_its_parents():
    script = PARENT.format(burn=BURN.format(seconds=0.3), child=BURN.format(seconds=0.4))
    meter = Meter([Tree("tree", None), Tree("this process", os.getpid(), descendants=False)])
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        meter.trees[0] = Tree("tree", parent.pid)
        meter.start()  # the interpreter's start-up may already be counted before this: it is outside the window
        assert parent.stdout is not None and parent.stdout.readline() == "done\n"
        used = meter.stop()
    finally:
        parent.communicate("exit\n", timeout=30)
    assert 0.65 <= used.trees["tree"] < 1.5, used  # 0.3 of its own, 0.4 of a child that exited inside the window
    assert used.trees["this process"] < 0.3, used  # blocked reading the pipe; the child tree is not ours
    assert used.machine >= used.trees["tree"] - 0.05, used  # every core's busy time, this tree's included


def test_a_tree_that_is_gone_or_was_never_started_counts_nothing():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    meter = Meter([Tree("gone", gone.pid), Tree("never started", None)])
    meter.start()
    used = meter.stop()
    assert used.trees == {"gone": 0.0, "never started": 0.0}


def _window(name: str, operations: int, wall: float, machine: float, **trees: float) -> Window:
    return Window(name, operations, Usage(wall, trees, machine, load=1.0))


def test_the_ceiling_is_the_reference_cpu_over_the_operations_and_over_what_the_app_leaves():
    # 1,000 healthz requests took 2 s of machine CPU (2 ms each); 100 payments took 2 s (20 ms each), 12 of it app.
    healthz = _window("healthz", 1000, 1.0, 2.0, app=0.5, db=0.1)
    payment = _window("payment", 100, 1.0, 2.0, app=1.2, db=0.5)
    found = ceiling(healthz, payment, "app", per_reference=2, measured=0.21)
    assert round(found.ratio, 3) == 0.2  # 2 × 2 ms ÷ 20 ms
    assert round(found.without_app, 3) == 0.5  # 2 × 2 ms ÷ (20 − 12) ms
    assert found.measured == 0.21
    shown = table([payment, healthz])
    assert "| app | 12.00 | 0.50 |" in shown
    assert "| rest of the machine | 3.00 | 1.40 |" in shown  # machine − the trees measured
    assert "| **whole machine** | **20.00** | **2.00** |" in shown


def test_an_app_that_is_all_of_the_cost_has_no_ceiling():
    healthz = _window("healthz", 10, 1.0, 0.02, app=0.01)
    transfer = _window("transfer", 10, 1.0, 0.05, app=0.05)
    assert ceiling(healthz, transfer, "app").without_app == float("inf")
