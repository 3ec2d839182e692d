"""Every confirmed outage, once per `(check, onset)`, whatever is replayed."""

from __future__ import annotations

from datetime import timedelta

from sitewatch.model import Classification, OutageRecord, ResultKind, TransitionKind
from sitewatch.storage.protocols import Store
from tests.store_contract.records import (
    CHECK,
    CUSTOMER,
    MINUTE,
    T0,
    draft,
    outage,
    transition,
)

STARTED, OVERRAN, ENDED = TransitionKind.STARTED, TransitionKind.OVERRAN, TransitionKind.ENDED


def record(**changes: object) -> OutageRecord:
    """Return the stored outage of `outage()` with some fields changed."""
    fields: dict[str, object] = {
        "check": CHECK,
        "customer": CUSTOMER,
        "onset_at": T0,
        "classification": Classification.EMERGENCY,
        "symptom": ResultKind.CONNECT,
        "window_id": None,
        "overrun_at": None,
        "recovered_at": None,
        "ticket_id": None,
    }
    return OutageRecord(**{**fields, **changes})  # type: ignore[arg-type]


async def overlapping(store: Store) -> list[OutageRecord]:
    async with store.reading() as tx:
        return await tx.outages.overlapping(T0 - timedelta(days=1), T0 + timedelta(days=1))


async def test_a_started_outage_is_recorded_once_however_often_it_is_replayed(
    store: Store,
) -> None:
    for _ in range(2):
        async with store.transaction() as tx:
            await tx.outages.record(CHECK, CUSTOMER, transition(STARTED, T0 + MINUTE))
    assert await overlapping(store) == [record()]


async def test_an_overrun_reclassifies_the_outage_and_keeps_its_first_time(store: Store) -> None:
    planned = outage(classification=Classification.PLANNED, window_id="12")
    async with store.transaction() as tx:
        await tx.outages.record(CHECK, CUSTOMER, transition(STARTED, T0 + MINUTE, planned))
        await tx.outages.record(CHECK, CUSTOMER, transition(OVERRAN, T0 + 9 * MINUTE, planned))
        await tx.outages.record(CHECK, CUSTOMER, transition(OVERRAN, T0 + 30 * MINUTE, planned))
    assert await overlapping(store) == [
        record(classification=Classification.OVERRUN, window_id="12", overrun_at=T0 + 9 * MINUTE)
    ]


async def test_an_ended_outage_keeps_its_first_recovery_time(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.outages.record(CHECK, CUSTOMER, transition(STARTED, T0 + MINUTE))
        await tx.outages.record(CHECK, CUSTOMER, transition(ENDED, T0 + 5 * MINUTE))
    async with store.transaction() as tx:
        await tx.outages.record(CHECK, CUSTOMER, transition(ENDED, T0 + 7 * MINUTE))
    assert await overlapping(store) == [record(recovered_at=T0 + 5 * MINUTE)]


async def test_a_transition_whose_start_was_never_recorded_still_leaves_its_outage(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        await tx.outages.record(CHECK, CUSTOMER, transition(ENDED, T0 + 5 * MINUTE))
    assert await overlapping(store) == [record(recovered_at=T0 + 5 * MINUTE)]


async def test_opening_the_outages_ticket_links_it(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.outages.record(CHECK, CUSTOMER, transition(STARTED, T0 + MINUTE))
        ticket, _ = await tx.tickets.open(draft())
    assert await overlapping(store) == [record(ticket_id=ticket.id)]


async def test_overlapping_lists_outages_begun_before_until_not_recovered_by_since(
    store: Store,
) -> None:
    hour = timedelta(hours=1)
    spans = {"early": (T0 - 3 * hour, T0 - 2 * hour), "across": (T0 - hour, T0 + hour)}
    spans |= {"open": (T0 + 2 * hour, None), "late": (T0 + 5 * hour, T0 + 6 * hour)}
    async with store.transaction() as tx:
        for check, (onset, end) in spans.items():
            await tx.outages.record(check, CUSTOMER, transition(STARTED, onset, outage(onset)))
            if end is not None:
                await tx.outages.record(check, CUSTOMER, transition(ENDED, end, outage(onset)))
    async with store.reading() as tx:
        found = await tx.outages.overlapping(T0, T0 + 4 * hour)
        assert [o.check for o in found] == ["across", "open"]
        assert [o.check for o in await tx.outages.overlapping(T0 - 2 * hour, T0)] == ["across"]


async def test_pruning_deletes_outages_recovered_before_the_cutoff_up_to_the_limit(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        for n in range(3):
            onset = T0 + n * MINUTE
            await tx.outages.record(f"c{n}", CUSTOMER, transition(STARTED, onset, outage(onset)))
            await tx.outages.record(f"c{n}", CUSTOMER, transition(ENDED, onset, outage(onset)))
        await tx.outages.record("open", CUSTOMER, transition(STARTED, T0, outage()))
    async with store.transaction() as tx:
        assert await tx.outages.prune(T0 + 10 * MINUTE, 2) == 2
    async with store.transaction() as tx:
        assert await tx.outages.prune(T0 + 10 * MINUTE, 2) == 1
        assert await tx.outages.prune(T0 + 10 * MINUTE, 2) == 0
    assert [o.check for o in await overlapping(store)] == ["open"]
