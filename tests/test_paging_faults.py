"""Prober faults in the results batch: one PROBER FAULT, one PROBER OK, kept in the database."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sitewatch.model import Method, PageKind, ResultKind, State, Step
from tests.builders import make_check
from tests.monitorkit import MonitorRig, monitor_rig

CHECKS = [
    replace(
        make_check(f"check-{n}", customer=f"customer-{n % 3}"),
        steps=(Step(Method.GET, f"https://site-{n}.example/login"),),
    )
    for n in range(5)
]
CONNECT, OK = ResultKind.CONNECT, ResultKind.OK


async def every_check(rig: MonitorRig, kind: ResultKind, count: int = 5) -> None:
    for check in CHECKS[:count]:
        await rig.result(check.id, kind, after=1)
    await rig.commit()


async def test_a_prober_fault_pages_level_0_once_and_says_when_it_clears(tmp_path: Path) -> None:
    rig = await monitor_rig(tmp_path, CHECKS)
    for _ in range(3):
        await every_check(rig, CONNECT)
    assert rig.faults.active
    assert await rig.tickets() == [], "no customer ticket while the fault lasts"

    await every_check(rig, OK)

    pages = await rig.pages()
    assert [(p.row.kind, p.row.operator, p.row.title) for p in pages] == [
        (PageKind.PROBER_FAULT, "alice", "PROBER FAULT default"),
        (PageKind.PROBER_OK, "alice", "PROBER OK default"),
    ]
    assert pages[0].row.subject == pages[1].row.subject
    assert pages[0].row.subject.startswith("prober-fault/default/2026-11-26T10:00:")
    assert pages[0].row.body.startswith("5 of 5 checks failing with network-level kinds")
    assert await rig.tickets() == []
    await rig.store.close()


async def test_checks_still_failing_when_the_fault_clears_are_judged_as_usual(
    tmp_path: Path,
) -> None:
    rig = await monitor_rig(tmp_path, CHECKS)
    for _ in range(3):
        await every_check(rig, CONNECT)
    # Three sites come back, which clears the fault; two are still down.
    for check in CHECKS[:3]:
        await rig.result(check.id, OK, after=1)
    await rig.commit()

    assert not rig.faults.active
    tickets = await rig.tickets()
    assert sorted(t.check for t in tickets) == ["check-3", "check-4"]
    assert all(t.symptom is CONNECT for t in tickets)
    assert (await rig.verdict("check-4")).state is State.DOWN
    await rig.store.close()


async def test_an_http_level_failure_is_ticketed_during_a_prober_fault(tmp_path: Path) -> None:
    rig = await monitor_rig(tmp_path, [*CHECKS, make_check("shop", customer="customer-0")])
    for _ in range(3):
        await every_check(rig, CONNECT)
    assert rig.faults.active
    await rig.results("shop", ResultKind.HTTP_STATUS, ResultKind.HTTP_STATUS)

    [ticket] = await rig.tickets()
    assert (ticket.check, ticket.symptom) == ("shop", ResultKind.HTTP_STATUS)
    await rig.store.close()


async def test_a_restart_during_a_fault_neither_forgets_nor_repeats_it(tmp_path: Path) -> None:
    rig = await monitor_rig(tmp_path, CHECKS)
    for _ in range(3):
        await every_check(rig, CONNECT)
    again = await monitor_rig(tmp_path, CHECKS, store=rig.store, clock=rig.clock)

    assert again.faults.active
    await every_check(again, CONNECT)
    await every_check(again, OK)
    kinds = [p.row.kind for p in await again.pages()]
    assert kinds == [PageKind.PROBER_FAULT, PageKind.PROBER_OK]
    await rig.store.close()
