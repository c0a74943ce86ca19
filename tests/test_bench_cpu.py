"""bench/cpu.py: the CPU a process tree used over a window, its exited children included, and the ratio it allows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from bench.cpu import Meter, Tree, Usage, Window, ceiling, ceiling_line, table

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


# A parent that burns 0.2 s, then starts a child that burns 0.4 s and stays, then both wait to be told to exit.
FAMILY = textwrap.dedent("""
    import subprocess, sys
    exec({burn!r})
    child = subprocess.Popen([sys.executable, "-c", {child!r}, "the-child"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    child.stdout.readline()
    print("done", flush=True)
    sys.stdin.readline()
    child.communicate("exit\\n")
""")


def test_a_tree_splits_into_its_parts_and_knows_its_busiest_process():
    child = BURN.format(seconds=0.4) + "print('done', flush=True)\ninput()\n"
    script = FAMILY.format(burn=BURN.format(seconds=0.2), child=child)
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        meter = Meter([Tree("family", parent.pid, part=lambda cmdline: "child" if cmdline.endswith("the-child")
                            else "parent", one_core_each=True)])
        meter.start()
        assert parent.stdout is not None and parent.stdout.readline() == "done\n"
        used = meter.stop()
    finally:
        parent.communicate("exit\n", timeout=30)
    parts = used.parts["family"]
    assert 0.35 <= parts["child"] < 1.0, used  # the child started inside the window: all of its time
    assert parts["parent"] < 0.35, used  # its own 0.2 s at most (some of it may have run before the window)
    assert abs(parts["child"] + parts["parent"] - used.trees["family"]) < 0.01, used
    assert used.busiest["family"] == parts["child"], used
    # the busiest process's one core bounds the tree: 10 operations at 0.5 s of one process → 20/s
    window = Window("op", 10, Usage(1.0, {"family": 0.6}, 0.6, load=1.0, machine_cores=2,
                                    busiest={"family": 0.5}))
    assert window.bound() == (20.0, "the busiest process of family (1 core)")


def test_a_tree_that_is_gone_or_was_never_started_counts_nothing():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    meter = Meter([Tree("gone", gone.pid), Tree("never started", None)])
    meter.start()
    used = meter.stop()
    assert used.trees == {"gone": 0.0, "never started": 0.0}


def _window(name: str, operations: int, machine: float, **trees: float) -> Window:
    """One second's window on a 2-core machine, the load generator ("client") capped at one core."""
    return Window(name, operations, Usage(1.0, trees, machine, load=1.0, caps={"client": 1.0}, machine_cores=2))


def test_the_ceiling_is_what_the_cpu_allows_the_operation_over_what_it_allows_the_reference():
    # 1,000 healthz requests: 1.2 s of machine CPU, 0.8 s of it the one-process load generator's, which therefore
    # bounds them (1,250/s) before the 2 cores do (1,667/s).
    healthz = _window("healthz", 1000, 1.2, app=0.3, client=0.8)
    # 100 payments: 2 s of machine CPU (the 2 cores bound them at 100/s), 1.2 s of it the app's.
    payment = _window("payment", 100, 2.0, app=1.2, client=0.2, db=0.5)
    assert healthz.bound() == (1250.0, "client (1 core)")
    assert payment.bound() == (100.0, "the machine's 2 cores")
    found = ceiling(healthz, payment, "app", per_reference=2, measured=0.17)
    assert round(found.ratio, 3) == 0.16  # 2 × 100 ÷ 1,250
    assert round(found.without_app, 3) == 0.4  # 2 × (2 cores ÷ 8 ms) ÷ 1,250
    assert found.measured == 0.17
    assert found.bindings == ("client (1 core)", "the machine's 2 cores", "the machine's 2 cores")
    # Without the app, the one-core load generator binds before the machine: 200 payments, 1 s of it the client's.
    lean = _window("lean payment", 200, 2.0, app=0.2, client=1.0)
    assert lean.bound(without="app") == (200.0, "client (1 core)")  # the 2 cores would allow 2 ÷ 9 ms = 222/s
    shown = table([payment, healthz])
    assert "| app | 12.00 | 0.30 |" in shown
    assert "| rest of the machine | 1.00 | 0.10 |" in shown  # machine − the trees measured
    assert "| **whole machine** | **20.00** | **1.20** |" in shown


def test_an_app_that_is_all_of_the_cost_leaves_only_the_other_bounds():
    healthz = _window("healthz", 10, 0.02, app=0.01)
    transfer = _window("transfer", 10, 0.05, app=0.05)
    assert ceiling(healthz, transfer, "app").without_app == float("inf")


def test_a_stand_in_keeps_its_own_app_cost_per_operation():
    healthz = _window("healthz", 1000, 1.2, app=0.3, client=0.8)
    # 100 payments at 20 ms of machine CPU each, 12 ms the app's; a stand-in whose app costs 2 ms an operation.
    payment = _window("payment", 100, 2.0, app=1.2, client=0.2, db=0.5)
    cheap = _window("cheap", 500, 1.5, app=1.0, client=0.5)
    # Only 10 of the 12 ms are spared: 2 cores ÷ 10 ms = 200/s, against 1,250 healthz/s.
    assert payment.bound(without="app", kept_ms=cheap.per_op("app")) == (200.0, "the machine's 2 cores")
    line = ceiling_line("payment ÷ healthz", healthz, payment, "app", stand_ins=(cheap,))
    assert line.endswith("with an app costing what cheap costs (2.00 ms) 0.16")
    assert "with an app costing nothing 0.20" in line  # 2 cores ÷ 8 ms = 250/s ÷ 1,250
