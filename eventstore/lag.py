"""How far behind a consumer group or a projector is, counted up to a cap.

The admin's index, its processing page, `manage.py consumers|projections status` and every scrape
of /metrics count the lag. A backlog of a million events (after an outage, or a log loaded in bulk)
would make each of them count a million rows, and ask a group's selector about each; so at most
`COUNT_CAP` events are looked at, and a lag that reaches the cap reads "at least" ("10,000+").
"""

COUNT_CAP = 10_000


def text(lag: int) -> str:
    """A lag as shown: "10,000+" when it was counted up to the cap, so there may be more."""
    return f"{lag:,}+" if lag >= COUNT_CAP else f"{lag:,}"


def reached_cap(lag: int) -> bool:
    return lag >= COUNT_CAP


class Shown:
    """For a status with `lag_events` (a consumer group's, a projector's): the lag as shown."""

    lag_events: int

    @property
    def lag_text(self) -> str:
        return text(self.lag_events)
