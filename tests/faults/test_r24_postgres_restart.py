"""R24: the PostgreSQL server restarts mid-load: every post is answered 202 or 503 (the partner
posts again after a 503), never 500 nor a dropped connection; the site, the workers and beat
serve again by themselves, not restarted; nothing is lost or doubled.

The shop runs on a PostgreSQL server of the test's own (`tests.faults.own_postgres`), as the
session's shared one must not restart: the site under gunicorn (two processes of two threads),
two workers and beat. While partners post orders and cancels from a few threads, the server is
restarted (`pg_ctl restart -m fast`: every session cut, open transactions rolled back, refused
connections until it is back), and the posting goes on. Posts carry no Idempotency-Key, so a 503
that had stored its message would show up as a message stored twice. The invariants are checked
in a process on that server afterwards.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest

from tests.faults.own_postgres import own_postgres  # noqa: F401 (the fixture)
from tests.faults.shop import Poster, post_flow, shop_environment, stop_now
from tests.serving import Answer, manage, serve
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker

pytestmark = pytest.mark.postgresql

ORDERS, CANCELS, CLIENTS = 200, 10, 4
RESTART_AFTER = 60  # answers: the restart strikes once the load is well under way


@dataclass
class TimedPoster(Poster):
    """A Poster that also keeps when each answer came."""

    answered: list[tuple[float, int | str]] = field(default_factory=list)  # (monotonic time, outcome)

    def post(self, body: dict, *, idempotency_key: str | None = None) -> Answer | None:
        answer = super().post(body, idempotency_key=idempotency_key)
        self.answered.append((time.monotonic(), "no answer" if answer is None else answer.status))
        return answer


def process_tree(pid: int) -> set[int]:
    """`pid` and its children (gunicorn's workers, a Celery worker's pool processes)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (name)": state, ppid, ...
        except FileNotFoundError:
            continue  # a process that ended meanwhile
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return {pid, *children}


def whole_trees(sizes: dict[int, int]) -> dict[int, set[int]] | None:
    """Each process's tree, once each has as many processes as `sizes` gives it."""
    trees = {pid: process_tree(pid) for pid in sizes}
    return trees if all(len(trees[pid]) == size for pid, size in sizes.items()) else None


def test_a_postgresql_restart_mid_load_answers_202_or_503_and_every_process_serves_again_by_itself(
    own_postgres,  # noqa: F811 (the fixture imported above)
    redis_proxy,
    markers,
    tmp_path,
):
    env = shop_environment(own_postgres.url(), f"redis://127.0.0.1:{redis_proxy.port}", markers)
    sources = "web,marketplace,warehouse"
    key = manage("create_partner", "acme", "--sources", sources, "--rate", "100000", env=env).splitlines()[-1]

    with (
        serve(env, options=("--workers=2", "--threads=2")) as site,
        celery_worker(env, "r24-a") as first,
        celery_worker(env, "r24-b") as second,
        celery_beat(env) as beat,
    ):
        # Every process whole (gunicorn's two workers, each Celery worker's pool process) before
        # the fault, so the same pids after it show that nothing was restarted.
        sizes = {site.pid: 3, first.popen.pid: 2, second.popen.pid: 2, beat.popen.pid: 1}
        trees = wait_until(lambda: whole_trees(sizes), timeout=60, what="every process's workers to start")
        partner = TimedPoster(site.url, key)
        with ThreadPoolExecutor(max_workers=1) as load:
            posting = load.submit(post_flow, partner, "R24", ORDERS, cancels=CANCELS, threads=CLIENTS, keyed=False)
            wait_until(
                lambda: len(partner.answered) >= RESTART_AFTER or posting.done() or None,
                timeout=60,
                what=f"{RESTART_AFTER} answers before the restart",
            )
            restart_began = time.monotonic()
            own_postgres.restart()
            restart_ended = time.monotonic()
            orders, accepted = posting.result()
        load_ended = time.time()

        outcomes = [outcome for _, outcome in partner.answered]
        assert set(outcomes) <= {202, 503}, {o: outcomes.count(o) for o in set(outcomes)}
        assert any(at < restart_began for at, _ in partner.answered), "the restart came before any answer"
        assert any(at > restart_ended and o == 202 for at, o in partner.answered), "no 202 after the restart"
        refused = [at for at, outcome in partner.answered if outcome == 503]

        spec = tmp_path / "accepted.json"
        spec.write_text(json.dumps({"accepted": accepted, "orders": [asdict(o) for o in orders], "since": load_ended}))
        checked = manage("shell", "-c", INVARIANTS.format(spec=str(spec)), env=env, timeout=300)
        assert "the invariants hold" in checked, checked

        # Nothing was restarted: the site's, the workers' and beat's processes are those of before.
        assert {pid: process_tree(pid) for pid in sizes} == trees
        window = max(refused) - min(refused) if refused else 0.0
        accepting = sorted(at for at, outcome in partner.answered if outcome == 202)
        longest_without_202 = max(later - earlier for earlier, later in pairwise(accepting))
        print(  # noqa: T201
            f"{len(orders)} orders, {outcomes.count(202)} 202s, {len(refused)} 503s (posted again) over"
            f" {window:.2f} s; no 202 for {longest_without_202:.2f} s at most;"
            f" restart {restart_ended - restart_began:.2f} s; {checked.strip().splitlines()[-2]}"
        )
        stop_now(beat, first, second)


INVARIANTS = """
import json, time
from tests.faults.invariants import (
    Order, assert_nothing_lost_nothing_doubled, assert_read_models_equal_rebuild, wait_until_settled,
)
spec = json.load(open({spec!r}))
orders = [Order(**order) for order in spec["orders"]]
wait_until_settled(orders)
print(f"settled {{time.time() - spec['since']:.1f}} s after the load")
assert_nothing_lost_nothing_doubled(accepted=spec["accepted"], orders=orders)
assert_read_models_equal_rebuild(orders)
print("the invariants hold")
"""
