"""Loading and saving aggregates through the store: expected versions, retries, snapshots."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from eventstore.models import Snapshot
from eventstore.repository import AggregateNotFound, Repository, UnknownEventType, retry_on_conflict
from eventstore.store import NO_STREAM, EventStore, NewEvent, WrongExpectedVersion
from tests.accounts import Account

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def accounts() -> Repository[Account]:
    return Repository(Account, store=EventStore(), snapshot_every=10)


def deposit(accounts: Repository[Account], account_id: str, *amounts: str) -> None:
    account = accounts.load(account_id)
    for amount in amounts:
        account.deposit(Decimal(amount))
    accounts.save(account)


def test_save_then_load_gives_the_same_state(accounts):
    deposit(accounts, "1", "10.00", "2.50")
    account = accounts.load("1")
    assert (account.balance, account.version, account.pending_events()) == (Decimal("12.50"), 1, [])
    assert [e.data for e in EventStore().read_stream("account-1")] == [
        {"entry": {"amount": "10.00", "note": ""}},
        {"entry": {"amount": "2.50", "note": ""}},
    ]


def test_get_of_an_unknown_aggregate_raises_not_found(accounts):
    with pytest.raises(AggregateNotFound):
        accounts.get("missing")
    assert accounts.load("missing").version == -1


def test_saving_nothing_writes_nothing(accounts):
    assert accounts.save(accounts.load("1")) is None
    assert EventStore().stream_version("account-1") == -1


def test_save_carries_metadata(accounts):
    account = accounts.load("1")
    account.deposit(Decimal("1"))
    accounts.save(account, metadata={"correlation_id": "msg-7", "causation_id": "evt-3"})
    [event] = EventStore().read_stream("account-1")
    assert (event.correlation_id, event.causation_id) == ("msg-7", "evt-3")


def test_a_stale_aggregate_is_refused_with_wrong_expected_version(accounts):
    stale = accounts.load("1")
    deposit(accounts, "1", "5")
    stale.deposit(Decimal("7"))
    with pytest.raises(WrongExpectedVersion):
        accounts.save(stale)
    assert accounts.load("1").balance == Decimal("5")


def test_an_unknown_event_type_in_the_stream_is_a_clear_error(accounts):
    EventStore().append("account-1", [NewEvent("Frozen", {})], NO_STREAM)
    with pytest.raises(UnknownEventType, match="Frozen"):
        accounts.load("1")


@pytest.mark.postgresql  # on SQLite the attempt's IMMEDIATE transaction holds the write lock: no one gets in between
def test_retry_on_conflict_reloads_and_succeeds_after_a_concurrent_write(accounts):
    deposit(accounts, "1", "100")
    attempts = []

    @retry_on_conflict
    def withdraw(amount: str) -> None:
        account = accounts.load("1")
        attempts.append(account.version)
        if len(attempts) == 1:  # another writer gets in between our load and our save
            worker = threading.Thread(target=lambda: (deposit(accounts, "1", "1"), connections.close_all()))
            worker.start()
            worker.join(30)
        account.withdraw(Decimal(amount))
        accounts.save(account)

    withdraw("30")
    assert attempts == [0, 1]
    assert accounts.load("1").balance == Decimal("71")


def test_retry_on_conflict_gives_up_after_its_attempts(accounts):
    calls = []

    @retry_on_conflict(attempts=3)
    def always_conflicts() -> None:
        calls.append(1)
        raise WrongExpectedVersion("account-1", 0, 1)

    with pytest.raises(WrongExpectedVersion):
        always_conflicts()
    assert len(calls) == 3


def test_a_snapshot_is_written_each_time_the_stream_passes_a_multiple(accounts):
    deposit(accounts, "1", *["1"] * 9)
    assert not Snapshot.objects.exists()
    deposit(accounts, "1", "1")  # versions 0..9: ten events
    snapshot = Snapshot.objects.get(stream_id="account-1")
    assert (snapshot.version, snapshot.aggregate_type) == (9, "Account")
    deposit(accounts, "1", *["1"] * 15)  # to version 24: passes 19
    assert Snapshot.objects.get(stream_id="account-1").version == 24


def test_a_long_stream_loads_from_its_snapshot_and_the_events_after_it(accounts):
    for _ in range(30):
        deposit(accounts, "1", *["1.25"] * 10)
    deposit(accounts, "1", "3", "4")
    store = EventStore()
    with CaptureQueriesContext(connections["default"]) as queries:
        account = accounts.load("1")
    assert (account.balance, account.version) == (Decimal("382.00"), 301)
    assert len(queries) == 2  # the snapshot, then the events after it
    snapshot = Snapshot.objects.get(stream_id="account-1")
    assert len(store.read_stream("account-1", from_version=snapshot.version + 1)) == 2
    without = Repository(Account, store=store, snapshot_every=0).load("1")
    assert (without.balance, without.version) == (account.balance, account.version)


def test_a_snapshot_of_an_older_schema_is_ignored(accounts, monkeypatch):
    deposit(accounts, "1", *["2"] * 10)
    Snapshot.objects.filter(stream_id="account-1").update(state={"balance": {"$decimal": "999"}})
    assert accounts.load("1").balance == Decimal("999")  # the snapshot is used as it is...
    monkeypatch.setattr(Account, "snapshot_schema", 2)
    assert accounts.load("1").balance == Decimal("20")  # ...until the state's shape changes


def test_a_snapshot_of_another_aggregate_type_is_ignored(accounts):
    deposit(accounts, "1", *["2"] * 10)
    Snapshot.objects.filter(stream_id="account-1").update(
        aggregate_type="Ledger", state={"balance": {"$decimal": "999"}}
    )
    assert accounts.load("1").balance == Decimal("20")


def test_snapshot_interval_comes_from_settings_by_default(settings):
    settings.EVENTSTORE_SNAPSHOT_EVERY = 3
    repository = Repository(Account, store=EventStore())
    deposit(repository, "1", "1", "1", "1")
    assert Snapshot.objects.get(stream_id="account-1").version == 2


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    saves=st.lists(st.lists(st.decimals("0.01", "999.99", places=2), min_size=1, max_size=7), max_size=12),
    every=st.integers(1, 9),
)
def test_snapshots_never_change_what_a_load_returns(saves, every):
    """Whatever the batches and the interval, loading from snapshots equals replaying the stream."""
    store = EventStore()
    account_id = uuid.uuid4().hex
    with_snapshots = Repository(Account, store=store, snapshot_every=every)
    for amounts in saves:
        account = with_snapshots.load(account_id)
        for amount in amounts:
            account.deposit(amount, note=str(amount))
        with_snapshots.save(account)
    loaded = with_snapshots.load(account_id)
    replayed = Repository(Account, store=store, snapshot_every=0).load(account_id)
    assert vars(loaded) == vars(replayed)
    total = sum(len(amounts) for amounts in saves)
    assert loaded.version == total - 1
    snapshot = Snapshot.objects.filter(stream_id=loaded.stream_id).first()
    assert (snapshot is not None) == (total >= every)
    if snapshot is not None:
        assert total - 1 - snapshot.version < every  # fewer than `every` events after the snapshot
