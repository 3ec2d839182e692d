"""The verdict across locations, as a table: who votes, K, the onset, the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sitewatch.model import (
    Classification,
    LocationDown,
    LocationStatus,
    MaintenanceKind,
    Outage,
    ResultKind,
    State,
    TransitionKind,
    Verdict,
    Window,
)
from sitewatch.outages.quorum import Quorum, Vote, judge, tick

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CONNECT, HTTP = ResultKind.CONNECT, ResultKind.HTTP_STATUS
MAJORITY = Quorum()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def down(location: str, onset: float, kind: ResultKind = CONNECT, *, faulted: bool = False) -> Vote:
    """A location that has confirmed the check down, failing since `onset`."""
    status = LocationStatus(
        state=State.DOWN,
        since=at(onset),
        down=LocationDown(at(onset), kind, f"{kind.value} from {location}"),
        last_result=kind,
        last_result_at=at(onset + 1),
    )
    return Vote(location, status, faulted)


def up(location: str, *, faulted: bool = False) -> Vote:
    return Vote(location, LocationStatus(state=State.UP, last_result=ResultKind.OK), faulted)


def verdict_of(votes: list[Vote], quorum: Quorum = MAJORITY, now: float = 10) -> Verdict:
    return judge(
        Verdict(), votes, quorum=quorum, windows=(), grace=timedelta(0), at=at(now)
    ).verdict


@pytest.mark.parametrize(
    ("name", "quorum", "votes", "state", "onset"),
    [
        ("one of three is no majority", MAJORITY, [down("a", 1), up("b"), up("c")], State.UP, None),
        (
            "two of three are, from the later onset of the two",
            MAJORITY,
            [down("a", 1), down("b", 3), up("c")],
            State.DOWN,
            at(3),
        ),
        (
            "the onset is the earliest moment K locations failed at once",
            MAJORITY,
            [down("a", 5), down("b", 1), down("c", 3)],
            State.DOWN,
            at(3),
        ),
        ("quorum 1: any location decides", Quorum(1), [down("a", 2), up("b")], State.DOWN, at(2)),
        (
            "quorum 3 with two live locations still pages when both see it",
            Quorum(3),
            [down("a", 2), down("b", 4)],
            State.DOWN,
            at(4),
        ),
        (
            "a faulted location's network failure does not vote",
            MAJORITY,
            [down("a", 1, faulted=True), up("b")],
            State.UP,
            None,
        ),
        (
            "a faulted location's HTTP-level failure proves its network and votes",
            Quorum(1),
            [down("a", 1, HTTP, faulted=True), up("b")],
            State.DOWN,
            at(1),
        ),
        (
            "a faulted location leaves the majority to the others",
            MAJORITY,
            [down("a", 1, faulted=True), down("b", 2), up("c")],
            State.UP,
            None,
        ),
        (
            "both healthy locations down is a majority of the voting ones",
            MAJORITY,
            [down("a", 1, faulted=True), down("b", 2), down("c", 4)],
            State.DOWN,
            at(4),
        ),
        (
            "every location faulted: the HTTP verdict still pages",
            MAJORITY,
            [down("a", 1, HTTP, faulted=True)],
            State.DOWN,
            at(1),
        ),
    ],
)
def test_who_votes_and_when_the_outage_began(
    name: str, quorum: Quorum, votes: list[Vote], state: State, onset: datetime | None
) -> None:
    verdict = verdict_of(votes, quorum)

    assert verdict.state is state, name
    assert (verdict.outage.onset if verdict.outage else None) == onset, name


def test_the_outage_takes_the_symptom_of_the_location_that_completed_the_quorum() -> None:
    verdict = verdict_of([down("a", 1, HTTP), down("b", 3, CONNECT), up("c")])

    assert verdict.outage is not None
    assert (verdict.outage.symptom, verdict.outage.detail) == (CONNECT, "connect from b")


OPEN = Verdict(State.DOWN, at(3), Outage(at(3), CONNECT, Classification.EMERGENCY))


def test_an_outage_ends_when_a_recovery_leaves_fewer_than_k_locations_down() -> None:
    still = judge(
        OPEN,
        [down("a", 1), down("b", 3), up("c")],
        quorum=MAJORITY,
        windows=(),
        grace=timedelta(0),
        at=at(20),
    )
    ended = judge(
        OPEN,
        [down("a", 1), up("b"), up("c")],
        quorum=MAJORITY,
        windows=(),
        grace=timedelta(0),
        at=at(21),
    )

    assert still.transitions == ()
    assert [(t.kind, t.at) for t in ended.transitions] == [(TransitionKind.ENDED, at(21))]
    assert ended.verdict == Verdict(State.UP, at(21))


def test_a_location_entering_a_prober_fault_does_not_make_an_outage_look_recovered() -> None:
    decision = judge(
        OPEN,
        [down("a", 1, faulted=True), down("b", 3), up("c")],
        quorum=MAJORITY,
        windows=(),
        grace=timedelta(0),
        at=at(20),
    )

    assert decision.transitions == ()
    assert decision.verdict == OPEN


def test_a_planned_outage_overruns_only_while_its_votes_still_stand() -> None:
    window = Window("7", "acme", (), MaintenanceKind.OS_UPGRADE, at(0), at(30), at(-60), "acme")
    planned = Verdict(
        State.MAINTENANCE, at(3), Outage(at(3), CONNECT, Classification.PLANNED, window_id="7")
    )
    held = tick(
        planned,
        [down("a", 1, faulted=True), up("b")],
        quorum=Quorum(1),
        windows=[window],
        grace=timedelta(0),
        now=at(31),
    )
    overran = tick(
        planned,
        [down("a", 1), up("b")],
        quorum=Quorum(1),
        windows=[window],
        grace=timedelta(0),
        now=at(31),
    )

    assert held.transitions == () and "prober fault or a recovery" in held.reason
    assert [(t.kind, t.at) for t in overran.transitions] == [(TransitionKind.OVERRAN, at(30))]


@pytest.mark.parametrize(
    ("count", "voting", "k"),
    [(0, 1, 1), (0, 2, 2), (0, 3, 2), (0, 4, 3), (0, 0, 1), (2, 3, 2), (2, 1, 1), (5, 3, 3)],
)
def test_k_for_each_quorum_and_number_of_voting_locations(count: int, voting: int, k: int) -> None:
    assert Quorum(count).required(voting) == k
