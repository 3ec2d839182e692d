"""The ticket rules as a table: which outage transitions open a ticket or record recovery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sitewatch.model import Classification, Outage, ResultKind, Transition, TransitionKind
from sitewatch.tickets.rules import TicketEffect, on_transition

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
STARTED, OVERRAN, ENDED = TransitionKind.STARTED, TransitionKind.OVERRAN, TransitionKind.ENDED
EMERGENCY, OVERRUN, PLANNED = (
    Classification.EMERGENCY,
    Classification.OVERRUN,
    Classification.PLANNED,
)

RULES = {
    "an emergency starts: open its ticket": (STARTED, EMERGENCY, TicketEffect.OPEN),
    "a planned outage starts: no ticket": (STARTED, PLANNED, TicketEffect.NONE),
    "a planned outage overruns: open its ticket": (OVERRAN, OVERRUN, TicketEffect.OPEN),
    "an emergency ends: record the recovery": (ENDED, EMERGENCY, TicketEffect.RECORD_RECOVERY),
    "an overrun ends: record the recovery": (ENDED, OVERRUN, TicketEffect.RECORD_RECOVERY),
    "a planned outage ends: no ticket to touch": (ENDED, PLANNED, TicketEffect.NONE),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_what_each_transition_does_to_tickets(rule: str) -> None:
    kind, classification, effect = RULES[rule]
    outage = Outage(T0, ResultKind.CONNECT, classification)
    decision = on_transition(Transition(kind, T0, outage, "because"))
    assert decision.effect is effect
    assert decision.reason
