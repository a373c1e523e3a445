"""Customers' personal data, sealed with a key per customer (docs/design.md, "Personal data").

Being built (issue 15): `install()` adds this module's steps to `eventstore.mapping`.
"""


def install() -> None:
    """Add the sealing steps to eventstore.mapping (none yet)."""
