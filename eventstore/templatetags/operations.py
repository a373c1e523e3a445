"""`{% operations_summary as ops %}`: how far behind the processing is, for the admin's index."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from eventstore import consumers, lag, projections

register = template.Library()


@dataclass(frozen=True)
class Summary:
    lag_events: int  # over every consumer group, each counted up to lag.COUNT_CAP
    lag_capped: bool  # a group's count stopped at the cap: there may be more
    lag_seconds: float  # the oldest unhandled message's age, over every group
    retrying: int
    parked: int
    projectors_behind: int  # projectors with events after their checkpoint
    projector_lag_seconds: float

    @property
    def lag_text(self) -> str:
        return f"{self.lag_events:,}+" if self.lag_capped else f"{self.lag_events:,}"

    @property
    def healthy(self) -> bool:
        return not (self.lag_events or self.retrying or self.parked or self.projectors_behind)


@register.simple_tag
def operations_summary() -> Summary:
    groups = [consumers.status(group) for group in consumers.registered()]
    readers = [projections.status(projector) for projector in projections.registered()]
    return Summary(
        lag_events=sum(g.lag_events for g in groups),
        lag_capped=any(lag.reached_cap(g.lag_events) for g in groups),
        lag_seconds=max((g.lag_seconds for g in groups), default=0.0),
        retrying=sum(g.retrying for g in groups),
        parked=sum(g.parked for g in groups),
        projectors_behind=sum(1 for p in readers if p.lag_events),
        projector_lag_seconds=max((p.lag_seconds for p in readers), default=0.0),
    )
