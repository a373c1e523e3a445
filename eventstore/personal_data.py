"""Customers' personal data, sealed with a key per customer (docs/design.md, "Personal data").

Being built (issue 15): `install()` adds this module's steps to `eventstore.mapping`.
"""


def install() -> None:
    """Add the sealing steps to eventstore.mapping (none yet)."""


def declare(declarations: tuple) -> None:
    """Take a component's declarations of where personal data sits (its `personal_data.PERSONAL_DATA`; none yet)."""
