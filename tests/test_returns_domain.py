"""The return, with no database: given past events, when a command, then new events."""

from returns.domain import OpenReturn, Return, ReturnOpened

OPENED = ReturnOpened("o-1", "a note")


def given(*events: object) -> Return:
    aggregate = Return("o-1")
    aggregate.replay(list(events), up_to_version=len(events) - 1)
    return aggregate


def test_the_return_of_an_order_lives_in_the_stream_named_by_the_order_id():
    assert Return("o-1").stream_id == "return-o-1"


def test_opening_records_opened():
    aggregate = given()
    aggregate.open(OpenReturn("o-1", "a note"))
    assert aggregate.pending_events() == [OPENED]


def test_opening_again_records_nothing():
    aggregate = given(OPENED)
    aggregate.open(OpenReturn("o-1", "another note"))
    assert aggregate.pending_events() == []
