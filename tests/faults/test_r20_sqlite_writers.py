"""R20: the SQLite default (no broker: each message is handled in the process that stores it) with
the web and commands writing at once for 30 s: no "database is locked", in any answer or log, and
nothing lost, nothing doubled.

The site runs under gunicorn (two processes of four threads) on a database file of its own, in WAL
mode with the busy timeout and IMMEDIATE transactions of the settings. Partners post orders,
cancels and dispatches from several threads while management commands that write (`projections
rebuild --all` above all) run over and over in processes of their own. The invariants are
checked in a process on that file afterwards.

It runs in the SQLite pass (`sqlite_pass`): it is about SQLite and brings its own database, and
the PostgreSQL pass carries every other fault test.
"""

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

import pytest

from tests.faults.invariants import Order
from tests.faults.shop import Poster
from tests.flows import cancel, card, dispatched, marketplace_order, web_order
from tests.serving import ROOT, manage, serve, site_environment

pytestmark = pytest.mark.sqlite_pass

LOAD_SECONDS, MAX_ORDERS, CLIENTS = 30, 2000, 6
LOCKED = "database is locked"
# Commands that write while the web does; the sweep delivers in its own process what the web's
# threads deliver too (tests/faults/test_in_process_retry_backoff.py is the race it found).
COMMANDS = [
    ("consumers", "sweep"),
    ("projections", "rebuild", "--all"),
    ("forget_idempotency_keys",),
    ("create_partner", "other-partner", "--sources", "web"),
    ("consumers", "status"),
]


def test_web_and_commands_writing_at_once_for_30_s_never_find_the_database_locked(tmp_path):
    # Inline: each request handles its message, so the web's threads write beside the commands.
    # (The embedded worker's one thread per process would leave most of the load queued at the end.)
    env = site_environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        GATEWAY_RATE_PER_MINUTE="1000000",
        EMBEDDED_WORKER="inline",
    )
    manage("migrate", "--noinput", env=env)
    key = manage("create_partner", "acme", "--sources", "web,marketplace,warehouse", env=env).splitlines()[-1]
    orders: list[Order] = []
    accepted: list[str] = []
    command_outputs: list[str] = []
    stop = threading.Event()

    def run_commands() -> None:
        for n in range(1000):  # bounded by the load's end, a few seconds each
            if stop.is_set():
                return
            result = subprocess.run(
                [sys.executable, "manage.py", *COMMANDS[n % len(COMMANDS)]],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            command_outputs.append(result.stdout + result.stderr)
            assert result.returncode == 0, result.stdout + result.stderr

    with serve(env, options=("--workers=2", "--threads=4")) as site:
        partner = Poster(site.url, key)
        deadline = time.monotonic() + LOAD_SECONDS

        def client(number: int) -> None:
            for n in range(number, MAX_ORDERS, CLIENTS):
                if time.monotonic() > deadline:
                    return
                order_id, token = f"R20-{n}", card(n)
                shape = web_order if n % 2 else marketplace_order
                accepted.append(partner.send(shape(order_id, token), idempotency_key=order_id))
                if n % 10 == 0:
                    accepted.append(partner.send(cancel(order_id), idempotency_key=f"cancel-{order_id}"))
                elif n % 10 == 1 and token != "tok_decline":  # shipped
                    accepted.append(partner.send(dispatched(order_id), idempotency_key=f"dispatch-{order_id}"))
                orders.append(
                    Order(order_id, token, cancelled=n % 10 == 0, shipped=n % 10 == 1 and token != "tok_decline")
                )

        with ThreadPoolExecutor(max_workers=1 + CLIENTS) as pool:
            commands = pool.submit(run_commands)
            for done in [pool.submit(client, number) for number in range(CLIENTS)]:
                done.result()
            stop.set()
            commands.result()
        site_log = site.log_tail(100_000_000)

    print(f"{len(orders)} orders and {len(accepted)} posts in {LOAD_SECONDS} s; {len(command_outputs)} commands")  # noqa: T201
    assert set(partner.outcomes) == {202}
    assert len(orders) >= 60, f"only {len(orders)} orders in {LOAD_SECONDS} s"
    assert len(command_outputs) >= 3, "the commands did not run during the load"
    assert LOCKED not in site_log
    assert not [output for output in command_outputs if LOCKED in output]

    spec = tmp_path / "accepted.json"
    spec.write_text(json.dumps({"accepted": accepted, "orders": [asdict(o) for o in orders]}))
    checked = manage("shell", "-c", INVARIANTS.format(spec=str(spec)), env=env)
    assert "the invariants hold" in checked


INVARIANTS = """
import json
from tests.faults.invariants import Order, assert_nothing_lost_nothing_doubled, assert_read_models_equal_rebuild
spec = json.load(open({spec!r}))
orders = [Order(**order) for order in spec["orders"]]
assert_nothing_lost_nothing_doubled(accepted=spec["accepted"], orders=orders)
assert_read_models_equal_rebuild(orders)
print("the invariants hold")
"""
