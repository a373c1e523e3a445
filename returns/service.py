"""One function per returns command: load the order's return, decide, save with the expected version."""

from typing import Any

from eventstore.repository import Repository

from .domain import ReceiveReturn, RequestReturn, Return


def request_return(
    command: RequestReturn, *, returns: Repository[Return], delivered: bool, metadata: dict[str, Any]
) -> str | None:
    aggregate = returns.load(command.order_id)
    refusal = aggregate.request(command, delivered=delivered)
    returns.save(aggregate, metadata=metadata)
    return refusal


def receive_return(command: ReceiveReturn, *, returns: Repository[Return], metadata: dict[str, Any]) -> None:
    aggregate = returns.load(command.order_id)
    aggregate.receive(command)
    returns.save(aggregate, metadata=metadata)
