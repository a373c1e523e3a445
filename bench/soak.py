"""Soak: orders at a fixed rate through the whole pipeline for minutes, with a fault every minute.

The production shape of bench/pipeline.py (the site under gunicorn, 2 workers x 2 threads; 2
Celery workers of 2 pool processes each, serving every queue; beat) on a scratch database
(--database, made and dropped on the PostgreSQL server of DATABASE_URL, as every benchmark) and a
Redis of its own on a free port (tests/services.py; broker db 0, cache db 1), so restarting it
never touches the machine's Redis.

Load (open loop, bench/_loadgen.py; the posts in bench/_soak_load.py): --rate posts a second for
--minutes. Each slot carries a follow-up that is due, else a new order: one in three of the
marketplace shape, the others web; tok_decline one in ten, tok_flaky one in ten, else tok_ok.
Follow-ups are what partners send next: a cancel of about one order in seven once it has settled,
a warehouse dispatch of one order in ten (a paid one) once its shipment is requested, and a
refused post again. Every post carries an Idempotency-Key; a 503 or no answer at all is posted
again with the same key after 1, 2, 4, 8 and 8 s, as a partner would, and counted (a post refused
six times would count as not accepted).

Faults (bench/_soak_faults.py), every --fault-every seconds from the end of the first interval, in
turn: a whole Celery worker SIGKILLed (a new one started in its place); Redis restarted with
nothing kept; every connection to the soak's database terminated (pg_terminate_backend; the soak's
own observer excepted). --faults chooses among them (`--faults kill`: worker kills only). Each
is printed as it happens. --leases-run-out runs the workers without the leases' session locks
(bench/_soak_leases_run_out.py), so a dead worker's partitions wait out their 15 s lease and its
projector its 30 s one: the soak as it was before the locks, to compare.

Afterwards the soak waits (at most --settle-timeout) until every stored input has its effect and
every projector has caught up, then counts from the store what was lost, doubled or wrong
(bench/_soak_count.py says what each means) and, with everything stopped, checks that every order
summary shows its order's status and every read model equals a rebuild from zero
(tests/faults/invariants.py). It exits with 1 if any count is not 0, a message is parked, a read
model disagrees, or the site answered anything but 202 and 503 (a 500 above all).

Figures: posts and answers; the faults; POST answer latency (202s); POST to settled (the last event
of the order's flow: ShipmentRequested, or PaymentDeclined), from when the first POST was due to
the event's recorded_at and to when the order summary showed it (polled every 0.2 s): p50, p95, p99
and max, tok_flaky orders left out (their time is the retry policy's 1 + 2 s); the same for the
orders posted after each fault; the memory (RSS) of every worker after the warm-up and at the end.
The ratio last: the p95 of POST to shown of the orders posted after a worker was killed (until the
next fault) over that of the fault-free first interval, the run's own baseline (goal <= 1.2: a
killed worker's work is taken over within a sweep or two, with no tail of a lease's 15-30 s); then
the same for the orders posted after every fault.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import _harness as harness
import _loadgen
from _soak_count import Outcome, read_models_disagree, wait_settled
from _soak_faults import BY_NAME, MIB, WORKER_KILLED, Fault, Faults, Memory
from _soak_load import OBSERVE_SECONDS, REFUSED, RETRY_DELAYS, Load, Observer, Order, tail, warm_up

from tests.services import redis_server
from tests.serving import site_environment

WORKERS = 2
CONNECTIONS = 16  # the load's keep-alive connections to gunicorn


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load runs (default 10)")
    parser.add_argument("--rate", type=float, default=20.0, help="posts a second, follow-ups included (default 20)")
    parser.add_argument("--fault-every", type=float, default=60.0, help="seconds between faults (default 60)")
    parser.add_argument("--settle-timeout", type=float, default=300.0, help="seconds to wait for the end to settle")
    parser.add_argument("--database", default="shop_bench_soak", help="the scratch database's name")
    parser.add_argument(
        "--faults",
        default=",".join(BY_NAME),
        help=f"the kinds of fault, in turn, of {', '.join(BY_NAME)} (default all)",
    )
    parser.add_argument(
        "--leases-run-out",
        action="store_true",
        help="workers without the leases' session locks: a dead worker's partitions and projectors wait out"
        " their leases (what the soak measured before them)",
    )
    parser.add_argument("--json", type=Path, help="also write the counts and figures to this file")
    parser.add_argument("--logs", type=Path, help="keep every process's whole log in this folder")


@dataclass
class Soaked:
    """What a run saw, for the report."""

    load: Load
    result: _loadgen.LoadResult
    faults: list[Fault]
    outcome: Outcome
    parked_count: int
    parked: list[tuple]
    disagreement: str
    memory: Memory
    started: float  # wall-clock time the load started
    settle_seconds: float


def main(args: argparse.Namespace) -> harness.Ratio:
    if args.quick:
        args.minutes, args.fault_every = 1.0, 20.0
    seconds = args.minutes * 60
    memory = Memory()
    # The payment provider keeps its memory in a Redis of its own: restarting the shop's Redis
    # empties the broker and the cache, not the provider outside the shop.
    with redis_server() as redis_, redis_server() as provider, harness.scratch_django(args.database) as url:
        from django.db import connections

        from eventstore.models import ParkedMessage
        from orders.models import OrderSummary

        key = harness.create_partner("soak", sources="web,marketplace,warehouse")
        connections.close_all()  # the soak's own connection is not one the database fault should meet
        env = site_environment(
            DATABASE_URL=url,
            CELERY_BROKER_URL=redis_.url(0),
            CACHE_URL=redis_.url(1),
            FAKE_PAYMENT_PROVIDER_CACHE_URL=provider.url(0),
        )
        if args.leases_run_out:
            env["DJANGO_SETTINGS_MODULE"] = "bench._soak_leases_run_out"
        with ExitStack() as stack:
            site = stack.enter_context(harness.gunicorn(env, ("--workers=2", "--threads=2")))
            workers, beat = harness.start_workers(stack, env, (f"w{n}" for n in range(WORKERS)))
            load = Load(site.port, key)
            observer = Observer(url, load, OrderSummary._meta.db_table)
            observer.start()
            stack.callback(observer.stopping.set)  # also when the run fails
            warm_up(load, site)
            memory.sample(site, workers, beat, memory.start)
            faults = Faults(
                stack=stack,
                env=env,
                workers=workers,
                redis_=redis_,
                database=args.database,
                spare=[observer.backend_pid],
                memory=memory,
                every=args.fault_every,
                seconds=seconds,
                kinds=fault_kinds(args),
            )
            stack.callback(faults.stopping.set)
            with harness.progress("soak", round(args.rate * seconds), unit="post") as load.bar:
                started = time.time()
                faults.start()
                result = _loadgen.open_loop(
                    harness.HOST,
                    site.port,
                    load.next_request,
                    rate=args.rate,
                    connections=CONNECTIONS,
                    seconds=seconds,
                    on_answer=load.on_answer,
                )
            load.bar = None
            faults.stop()
            settle_started = time.monotonic()
            tail(load, site, observer, timeout=args.settle_timeout)
            observer.stop()
            outcome = wait_settled(
                url, load, timeout=max(10.0, args.settle_timeout - (time.monotonic() - settle_started))
            )
            settle_seconds = time.monotonic() - settle_started
            memory.sample(site, workers, beat, memory.end)
            parked = list(ParkedMessage.objects.values_list("group", "event_type", "reason")[:5])
            parked_count = ParkedMessage.objects.count()
            connections.close_all()
            processes = {"gunicorn": site, **{p.name: p for p in (*(w.process for w in workers), beat)}}
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                for name, process in processes.items():
                    (args.logs / f"{name}.log").write_text(process.log_tail(size=1 << 40))
            if outcome.lost or outcome.doubled or outcome.wrong or parked_count or set(load.statuses) - {202, *REFUSED}:
                for name, process in processes.items():
                    sys.stderr.write(f"--- {name} log (tail) ---\n{process.log_tail()}\n")
        disagreement = read_models_disagree(load)

    soaked = Soaked(load, result, faults.done, outcome, parked_count, parked, disagreement, memory, started,
                    settle_seconds)  # fmt: skip
    figures, ratio = report(args, soaked)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return harness.Ratio(ratio, failed=figures["failed"])


def fault_kinds(args: argparse.Namespace) -> tuple[str, ...]:
    names = [name.strip() for name in args.faults.split(",") if name.strip()]
    if not names or set(names) - set(BY_NAME):
        raise SystemExit(f"--faults: a comma-separated list of {', '.join(BY_NAME)}, not {args.faults!r}")
    return tuple(BY_NAME[name] for name in names)


def report(args: argparse.Namespace, soaked: Soaked) -> tuple[dict, str]:
    """Print the figures; the same as a dict, and the ratio line."""
    load, result, faults, outcome = soaked.load, soaked.result, soaked.faults, soaked.outcome
    started, disagreement, parked_count = soaked.started, soaked.disagreement, soaked.parked_count
    posts = [p for p in load.posts if not p.order.warm_up]
    kinds = Counter(p.kind for p in posts)
    accepted = Counter(p.kind for p in posts if p.message_id is not None)
    reposts = sum(max(0, p.attempts - 1) for p in posts)
    not_accepted = [p for p in posts if p.message_id is None]
    answers = ", ".join(f"{status or 'no answer'} x{n:,}" for status, n in sorted(load.statuses.items(), key=str))
    unexpected = sum(n for status, n in load.statuses.items() if status not in (202, *REFUSED))
    server_errors = sum(
        n for status, n in load.statuses.items() if status is not None and status >= 500 and status != 503
    )
    timed = [o for o in load.orders if not o.warm_up and o.token != "tok_flaky" and o.post.first_due is not None]

    def offset(order: Order) -> float:
        return order.post.first_due - started

    baseline = [o for o in timed if offset(o) < args.fault_every]
    faulty = [o for o in timed if offset(o) >= args.fault_every]
    print(
        f"soak: {args.minutes:g} min at {args.rate:g} posts/s, a fault every {args.fault_every:g} s"
        f" ({', '.join(fault_kinds(args))}; leases {'run out' if args.leases_run_out else 'end with their session'});"
        f" gunicorn 2 workers x 2 threads, {WORKERS} Celery workers x {harness.WORKER_CONCURRENCY} processes, beat"
    )
    print(
        f"   posts: {kinds['order']:,} orders, {kinds['cancel']:,} cancels, {kinds['dispatch']:,} dispatches;"
        f" {reposts:,} re-posts of refused ones (same Idempotency-Key)"
    )
    print(f"   answers: {answers}")
    print(
        f"   accepted (202): orders {accepted['order']:,}/{kinds['order']:,}, cancels {accepted['cancel']:,}/"
        f"{kinds['cancel']:,}, dispatches {accepted['dispatch']:,}/{kinds['dispatch']:,};"
        f" not accepted after {len(RETRY_DELAYS) + 1} tries: {len(not_accepted)}"
    )
    print("   faults:")
    for fault in faults:
        print(f"      at {fault.offset:6.1f} s  {fault.kind}: {fault.what}")
    print(f"   settled {soaked.settle_seconds:.1f} s after the load ended")
    print(f"lost {outcome.lost}, doubled {outcome.doubled}, wrong {outcome.wrong}; parked {parked_count}")
    for example in outcome.examples:
        print(f"   {example}")
    for group, event_type, reason in soaked.parked:
        print(f"   parked in {group}: {event_type}: {reason[:200]}")
    print(f"read models show every order's status and equal a rebuild from zero: {disagreement or 'yes'}")
    print(f"site errors (5xx but 503): {server_errors}; other unexpected answers: {unexpected - server_errors}")
    print(f"POST answer (202), ms:           {harness.spread(result.latencies, 0.001)}")
    print(f"POST to settled in the store, s: {harness.spread(seconds_between(timed, 'recorded_at'))}")
    print(f"POST to shown settled, s:        {harness.spread(seconds_between(timed, 'shown_at'))}")
    print(f"   (orders with tok_ok and tok_decline: {len(timed):,}; shown = the order summary, polled every"
          f" {OBSERVE_SECONDS} s)")  # fmt: skip
    print("orders posted after each fault, until the next: POST to shown settled, s")
    bounds = [
        (f.offset, faults[i + 1].offset if i + 1 < len(faults) else float("inf"), f) for i, f in enumerate(faults)
    ]
    windows, after_kills = [], []
    for start, end, fault in bounds:
        inside = [o for o in timed if start <= offset(o) < end]
        refused = sum(1 for due, status in load.answered if status in REFUSED and start <= due - started < end)
        shown = seconds_between(inside, "shown_at")
        if fault.kind == WORKER_KILLED:
            after_kills += shown
        windows.append({"kind": fault.kind, "at": fault.offset, "orders": len(inside), "refused": refused,
                        "p95": harness.percentile(shown, 0.95), "max": max(shown, default=float("nan"))})  # fmt: skip
        counts = f"{len(inside):5,} orders, {refused:3} refused"
        print(f"   {fault.offset:6.1f} s {fault.kind:32} {counts}   {harness.spread(shown)}")
    print("memory (RSS):")
    harness.print_rows(soaked.memory.table())
    base, with_faults = seconds_between(baseline, "shown_at"), seconds_between(faulty, "shown_at")
    base_p95, faulty_p95 = harness.percentile(base, 0.95), harness.percentile(with_faults, 0.95)
    kills_p95 = harness.percentile(after_kills, 0.95)
    print(
        f"orders posted after a worker was killed: {len(after_kills):,}; POST to shown settled p95"
        f" {kills_p95:.2f} s, max {max(after_kills, default=float('nan')):.2f} s (the fault-free p95 {base_p95:.2f} s)"
    )
    offered = kinds["order"] + kinds["cancel"] + kinds["dispatch"]
    failed = bool(outcome.lost or outcome.doubled or outcome.wrong or parked_count or disagreement or unexpected)
    ratio = (
        f"ratio POST-to-shown p95 after worker kills / fault-free first {args.fault_every:g} s ="
        f" {kills_p95 / base_p95:.2f} ({kills_p95:.2f} s vs {base_p95:.2f} s;"
        f" {harness.goal(kills_p95 <= 1.2 * base_p95, '<= 1.2')});"
        f" with every fault = {faulty_p95 / base_p95:.2f} ({faulty_p95:.2f} s);"
        f" accepted/offered posts = {sum(accepted.values()) / offered:.4f};"
        f" lost {outcome.lost}, doubled {outcome.doubled}: {'PASS' if not failed else '** FAIL **'}"
    )
    figures = {
        "failed": failed,
        "lost": outcome.lost,
        "doubled": outcome.doubled,
        "wrong": outcome.wrong,
        "parked": parked_count,
        "read_models_disagree": disagreement,
        "server_errors": server_errors,
        "unexpected_answers": unexpected,
        "statuses": {str(status): n for status, n in load.statuses.items()},
        "posts": dict(kinds),
        "accepted": dict(accepted),
        "not_accepted": len(not_accepted),
        "faults": [{"at": f.offset, "kind": f.kind, "what": f.what} for f in faults],
        "after_each_fault": windows,
        "answer_ms": {f"p{round(f * 100)}": harness.percentile(result.latencies, f) * 1000 for f in (0.5, 0.95, 0.99)},
        "shown_s": {f"p{round(f * 100)}": harness.percentile(base + with_faults, f) for f in (0.5, 0.95, 0.99)},
        "baseline_p95_s": base_p95,
        "faulty_p95_s": faulty_p95,
        "after_kills_p95_s": kills_p95,
        "memory_mib": {label: [v and v / MIB for v in row[:2]] for label, row in soaked.memory.rows.items()},
    }
    return figures, ratio


def seconds_between(orders: list[Order], attribute: str) -> list[float]:
    """Seconds from each order's first due POST to `attribute` (recorded_at, shown_at)."""
    return [getattr(o, attribute) - o.post.first_due for o in orders if getattr(o, attribute) is not None]


if __name__ == "__main__":
    harness.run(main, description=__doc__, options=add_options, quick="1 minute, a fault every 20 s (a smoke test)")
