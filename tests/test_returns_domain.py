"""The return, with no database: given past events, when a command, then new events (or an error)."""

import pytest

from returns.domain import (
    ALREADY_RETURNED_REASON,
    NOT_DELIVERED_REASON,
    ReceiveReturn,
    RequestReturn,
    Return,
    ReturnNotRequested,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
)

REQUEST = RequestReturn("o-1", "too small")
REQUESTED = ReturnRequested("o-1", "too small")
RECEIVED = ReturnReceived("o-1")


def given(*events: object) -> Return:
    aggregate = Return("o-1")
    aggregate.replay(list(events), up_to_version=len(events) - 1)
    return aggregate


def test_the_return_of_an_order_lives_in_the_stream_named_by_the_order_id():
    assert Return("o-1").stream_id == "return-o-1"


def test_a_delivered_order_can_be_returned_with_the_customers_reason():
    aggregate = given()
    assert aggregate.request(REQUEST, delivered=True) is None
    assert aggregate.pending_events() == [REQUESTED]


def test_an_order_not_delivered_is_refused_and_may_be_asked_again_once_delivered():
    aggregate = given()
    assert aggregate.request(REQUEST, delivered=False) == NOT_DELIVERED_REASON
    assert aggregate.pending_events() == [ReturnRejected("o-1", NOT_DELIVERED_REASON)]
    later = given(ReturnRejected("o-1", NOT_DELIVERED_REASON))
    later.request(REQUEST, delivered=True)
    assert later.pending_events() == [REQUESTED]


def test_asking_again_while_the_return_is_on_its_way_records_nothing():
    aggregate = given(REQUESTED)
    assert aggregate.request(RequestReturn("o-1", "changed my mind"), delivered=True) is None
    assert aggregate.pending_events() == []


def test_an_order_returned_already_is_refused():
    aggregate = given(REQUESTED, RECEIVED)
    assert aggregate.request(REQUEST, delivered=True) == ALREADY_RETURNED_REASON
    assert aggregate.pending_events() == [ReturnRejected("o-1", ALREADY_RETURNED_REASON)]


def test_goods_received_for_a_requested_return_record_it_once():
    aggregate = given(REQUESTED)
    aggregate.receive(ReceiveReturn("o-1"))
    assert aggregate.pending_events() == [RECEIVED]
    again = given(REQUESTED, RECEIVED)
    again.receive(ReceiveReturn("o-1"))
    assert again.pending_events() == []


def test_goods_received_with_no_return_requested_raise_and_record_nothing():
    aggregate = given()
    with pytest.raises(ReturnNotRequested, match="No return has been requested for order 'o-1'"):
        aggregate.receive(ReceiveReturn("o-1"))
    assert aggregate.pending_events() == []
