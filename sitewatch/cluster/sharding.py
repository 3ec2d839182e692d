"""Which instance of a location probes which check: rendezvous hashing, purely.

Each check goes to the live member of its location with the highest hash of
(check, member). Every member computes the same answer from the same member list,
a member that joins takes only its own share, and one that dies gives up only its
share: the others keep their checks and their phases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable


def weight(check: str, member: str) -> int:
    """Return the rendezvous weight of a member for a check (stable across processes)."""
    digest = hashlib.blake2b(f"{check}\0{member}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(checks: Iterable[str], members: Collection[str], me: str) -> set[str]:
    """Return the checks `me` probes among `members` (all of them if `me` is alone)."""
    others = [member for member in members if member != me]
    if not others:
        return set(checks)
    everyone = [me, *others]
    return {
        check
        for check in checks
        if max(everyone, key=lambda member: (weight(check, member), member)) == me
    }
