"""Aggregates and the codec, with no database: given past events, when a command, then new events."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from eventstore import codec
from tests.accounts import Account, Deposited, Entry, InsufficientFunds, Opened, Withdrawn

OPENED = Opened("ann", datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


def given(*events: object) -> Account:
    account = Account("1")
    account.replay(list(events), up_to_version=len(events) - 1)
    return account


def test_a_new_aggregate_has_no_version_and_its_stream_is_named_by_category():
    account = Account("42")
    assert account.version == -1
    assert account.stream_id == "account-42"


def test_a_behaviour_records_an_event_and_folds_it_in():
    account = given(OPENED)
    account.deposit(Decimal("10.00"), "gift")
    assert account.pending_events() == [Deposited(Entry(Decimal("10.00"), "gift"))]
    assert account.balance == Decimal("10.00")
    assert account.version == 1


def test_a_refused_behaviour_records_nothing():
    account = given(OPENED, Deposited(Entry(Decimal("5"))))
    with pytest.raises(InsufficientFunds):
        account.withdraw(Decimal("3"), Decimal("3"))
    assert account.pending_events() == []
    assert account.version == 1


def test_replay_rebuilds_the_state_from_events():
    account = given(OPENED, Deposited(Entry(Decimal("5"))), Withdrawn((Entry(Decimal("2")),)))
    assert (account.owner, account.balance, account.version) == ("ann", Decimal("3"), 2)


def test_events_become_plain_json_with_money_as_strings_and_come_back_equal():
    event = Withdrawn((Entry(Decimal("19.90"), "a"), Entry(Decimal("0.10"))))
    data = codec.to_data(event)
    assert data == {"entries": [{"amount": "19.90", "note": "a"}, {"amount": "0.10", "note": ""}]}
    assert codec.from_data(Withdrawn, data) == event
    assert codec.from_data(Opened, codec.to_data(OPENED)) == OPENED


def test_decoding_ignores_unknown_keys_and_uses_defaults_for_missing_ones():
    assert codec.from_data(Entry, {"amount": "1", "added_later": True}) == Entry(Decimal("1"), "")


def test_floats_are_refused_in_events():
    with pytest.raises(TypeError, match="Decimal"):
        codec.to_data(Entry(1.5))  # type: ignore[arg-type]


def test_snapshot_state_round_trips_every_attribute_with_its_type():
    account = given(OPENED, Deposited(Entry(Decimal("5"), "x")), Deposited(Entry(Decimal("1.50"), "y")))
    restored = Account("1")
    restored.restore_state(account.snapshot_state())
    assert vars(restored) == {**vars(account), "version": -1}
    assert isinstance(restored.last, Entry) and restored.notes == {"x", "y"}


def test_snapshot_classes_are_looked_up_only_in_the_aggregates_module():
    with pytest.raises(TypeError, match="No class"):
        codec.from_tagged({"$object": "Popen", "fields": {}}, module="tests.accounts")
