"""The results waiting to be committed: in arrival order, bounded per check and in all.

While the database is unreachable results pile up here; each check keeps its newest
`per_check` (its streak is what the rules need), and the whole queue at most
`total`, so an outage of the database costs bounded memory. What is dropped is
counted, never silent.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

PER_CHECK = 64
TOTAL = 100_000


class OfCheck(Protocol):
    """What the queue holds: anything of one check (a result, with what was made of it)."""

    @property
    def check_id(self) -> str:
        """Return the check it is of."""
        ...


Item = TypeVar("Item", bound=OfCheck)


class ResultQueue(Generic[Item]):
    """A bounded, ordered queue of probe results with cheap per-check bounds."""

    def __init__(
        self,
        *,
        per_check: int = PER_CHECK,
        total: int = TOTAL,
        on_drop: Callable[[int], None] = lambda count: None,
    ) -> None:
        self._per_check = per_check
        self._total = total
        self._on_drop = on_drop
        self._by_check: dict[str, deque[tuple[int, Item]]] = {}
        self._next = itertools.count()
        self._front = 0
        """Sequence numbers below every queued one, for results put back in front."""
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def has(self, check: str) -> bool:
        """Tell whether results of this check are queued."""
        return bool(self._by_check.get(check))

    def put(self, result: Item) -> None:
        """Queue a result behind everything queued."""
        self._push(next(self._next), result)

    def put_back(self, batch: list[Item]) -> None:
        """Queue a batch that could not be committed in front of everything queued since."""
        self._front -= len(batch)
        for offset, result in enumerate(batch):
            self._push(self._front + offset, result, front=True)

    def take(self) -> list[Item]:
        """Remove and return everything queued, in order."""
        items = sorted(
            (entry for entries in self._by_check.values() for entry in entries),
            key=lambda entry: entry[0],
        )
        self._by_check.clear()
        self._size = 0
        return [result for _, result in items]

    def _push(self, seq: int, result: Item, *, front: bool = False) -> None:
        entries = self._by_check.setdefault(result.check_id, deque())
        if front:
            # Put back in order: each check's entries stay sorted by sequence.
            entries.append((seq, result))
            entries_sorted = sorted(entries, key=lambda entry: entry[0])
            entries.clear()
            entries.extend(entries_sorted)
        else:
            entries.append((seq, result))
        self._size += 1
        dropped = 0
        if len(entries) > self._per_check:
            entries.popleft()
            dropped += 1
        while self._size - dropped > self._total:
            oldest = min((e for e in self._by_check.values() if e), key=lambda e: e[0][0])
            oldest.popleft()
            dropped += 1
        if dropped:
            self._size -= dropped
            self._on_drop(dropped)
