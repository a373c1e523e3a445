"""`make bench-quick`: every bench in its quick mode, one after the other, as a smoke test.

Runs each bench/[!_]*.py, or each bench named on the command line, with --quick (on DATABASE_URL,
which `make` sets from BENCH_DATABASE_URL), for at most BENCH_QUICK_TIMEOUT seconds each (default
150), and fails (exit status 1) when one exits non-zero, runs out of time, or does not print a
ratio line last (`_harness.RATIO_LINE`).
Each bench's figures are printed as it ends, its stderr's tail too when it failed, then a table:
bench, seconds, CPU seconds (the database's left out), last line. Nothing is timed against a goal
here: the figures stay in the notes.

A bench out of time is sent SIGINT, so its context managers stop the gunicorn, Celery and Redis
processes it started (each in a session of its own) and drop its database; whatever is still
running after GRACE seconds, the bench and every process under it, is killed.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import _harness as harness

BENCH_DIR = Path(__file__).resolve().parent
TIMEOUT = float(os.environ.get("BENCH_QUICK_TIMEOUT", "150"))
GRACE = 30.0
STDERR_TAIL = 30  # lines of a failed bench's stderr shown


@dataclass(frozen=True)
class Outcome:
    bench: str
    seconds: float
    cpu_seconds: float  # of the bench and every process it started and waited for; not the database's
    last_line: str
    failure: str  # empty when the bench passed


def benches() -> list[Path]:
    """What `make bench` runs: every bench/*.py whose name does not start with an underscore."""
    return sorted(path for path in BENCH_DIR.glob("*.py") if not path.name.startswith("_"))


def stop(process: subprocess.Popen) -> None:
    """SIGINT to the bench's group, then, after GRACE seconds, SIGKILL to it and everything under it."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        # The tree before the kill: once the bench is gone its children are no longer under it.
        for pid in harness.process_tree(process.pid):
            with suppress(ProcessLookupError):  # ended meanwhile: nothing left to stop
                os.kill(pid, signal.SIGKILL)
        process.wait()


def run_quick(path: Path) -> Outcome:
    """Run one bench with --quick; print its stdout, and its stderr's tail if it failed."""
    print(f"=== {path.name} --quick", flush=True)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started, cpu_before = time.monotonic(), children_cpu()
        # A session of its own, so that SIGINT reaches the bench's group and not this runner.
        process = subprocess.Popen(
            [sys.executable, str(path), "--quick"], stdout=out, stderr=err, start_new_session=True
        )
        try:
            status = process.wait(timeout=TIMEOUT)
            timed_out = False
        except subprocess.TimeoutExpired:
            stop(process)
            status, timed_out = process.returncode, True
        except KeyboardInterrupt:  # Ctrl-C reaches this runner only: the bench is in a session of its own
            stop(process)
            raise
        seconds, cpu = time.monotonic() - started, children_cpu() - cpu_before
        out.seek(0)
        err.seek(0)
        lines = out.read().splitlines()
        # Progress bars redraw with carriage returns: keep what each line ended as.
        err_lines = [line.rsplit("\r", 1)[-1] for line in err.read().splitlines()]
    print("\n".join(lines), flush=True)
    last = lines[-1] if lines else ""
    if timed_out:
        failure = f"ran out of its {TIMEOUT:.0f} s"
    elif status != 0:
        failure = f"exit status {status}"
    elif not harness.is_ratio_line(last):
        failure = "no ratio line last"
    else:
        failure = ""
    if failure:
        tail = "".join(f"\n{line}" for line in err_lines[-STDERR_TAIL:])
        print(f"--- {path.name}: {failure}; the end of its stderr:{tail or ' (empty)'}", file=sys.stderr, flush=True)
    return Outcome(path.stem, seconds, cpu, last, failure)


def children_cpu() -> float:
    """CPU seconds (user and system) of this runner's children that have ended, theirs included.

    Beside the seconds a bench took: on a machine busy with other work they grow, its CPU much less.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def table(outcomes: list[Outcome]) -> None:
    width = max(len(o.bench) for o in outcomes)
    print(f"\n{'bench'.ljust(width)}  seconds   CPU s  last line")
    for o in outcomes:
        verdict = f"** {o.failure.upper()} ** " if o.failure else ""
        print(f"{o.bench.ljust(width)}  {o.seconds:7.1f}  {o.cpu_seconds:6.1f}  {verdict}{o.last_line}")
    total, cpu = sum(o.seconds for o in outcomes), sum(o.cpu_seconds for o in outcomes)
    print(f"{'total'.ljust(width)}  {total:7.1f}  {cpu:6.1f}")


def main() -> int:
    # A shell's background job starts with SIGINT ignored, and an ignored signal stays ignored
    # through exec: handled here, it is the default again in each bench, which then stops cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    paths = [Path(name) for name in sys.argv[1:]] or benches()
    if not paths:
        print("bench-quick: no bench found", file=sys.stderr)
        return 1
    outcomes = [run_quick(path) for path in paths]
    table(outcomes)
    failed = [o.bench for o in outcomes if o.failure]
    if failed:
        print(f"bench-quick: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
