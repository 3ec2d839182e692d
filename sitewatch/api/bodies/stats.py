"""The body of `GET /api/v1/stats`: outage statistics of a period (docs/statistics.md).

The figures are computed and put into JSON by `stats.report.as_json`, which the
`sitewatch stats` command prints too; this model is what the API promises of them,
and the route answers `as_json` only through it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sitewatch.api.bodies.fields import OptionalTime, Time
from sitewatch.api.bodies.responses import ResponseBody
from sitewatch.model import Cause, TicketState

Ratio = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
Minutes = Annotated[float, Field(ge=0)]


class OutageCounts(ResponseBody):
    """Outages by their final classification."""

    emergency: Count
    overrun: Count
    planned: Count


class CheckFigures(ResponseBody):
    """One check's accounting in the period."""

    customer: str
    availability: Ratio | None = Field(description="null when nothing was counted.")
    downtime_minutes: Minutes
    counted_minutes: Minutes
    counted_from: OptionalTime
    counted_because: str


class CustomerFigures(ResponseBody):
    """One configured customer's share of the statistics."""

    name: str
    checks: list[str]
    affected: bool
    outages: OutageCounts
    availability: Ratio | None
    downtime_minutes: Minutes


class Stats(ResponseBody):
    """Outage statistics of `since`..`until`."""

    since: Time
    until: Time
    customers: Count = Field(description="Configured customers.")
    customers_affected: Count = Field(
        description="Customers with an emergency or overrun outage (planned ones do not count)."
    )
    customers_affected_ratio: Ratio
    outages: OutageCounts
    by_cause: dict[Cause, Count] = Field(description="Resolved tickets by root cause.")
    by_cause_minutes: dict[Cause, Minutes]
    tickets: dict[TicketState, Count]
    mtta_seconds: Annotated[float, Field(ge=0)] | None = Field(
        description="Mean time from opened to acknowledged; null without acknowledgements."
    )
    mttr_seconds: Annotated[float, Field(ge=0)] | None = Field(
        description="Mean time from onset to recovery; null without recoveries."
    )
    availability: dict[str, Ratio] = Field(
        description="By check id; planned outages are not downtime."
    )
    availability_by_customer: dict[str, Ratio]
    checks: dict[str, CheckFigures]
    by_customer: dict[str, CustomerFigures]
