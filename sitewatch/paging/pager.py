"""The pager: every paging collaborator, built from the settings for the app.

`open_pager` needs the open store (the acknowledge-link key may live there) and
returns the planner the monitor and the API pass to the store, the links the
acknowledge routes verify, and the two loops the app runs in its TaskGroup.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field

from sitewatch.clock import Clock
from sitewatch.config.settings import Settings
from sitewatch.paging.channels import Channels
from sitewatch.paging.dispatcher import Dispatcher
from sitewatch.paging.escalation import Level
from sitewatch.paging.escalator import Escalator
from sitewatch.paging.faults import FaultPager
from sitewatch.paging.links import SIGNING_KEY_META, AckLinks, signing_key
from sitewatch.paging.notifier import AppriseNotifier, Notifier
from sitewatch.paging.oncall import Resolver
from sitewatch.paging.planner import Planner
from sitewatch.paging.retry import RetryPolicy
from sitewatch.paging.targets import TargetResolver
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store


@dataclass
class Pager:
    """What the app wires in: planner, links, the two loops, the fault pager."""

    planner: Planner
    links: AckLinks
    dispatcher: Dispatcher
    escalator: Escalator
    faults: FaultPager
    _owned: AppriseNotifier | None = field(default=None, repr=False)

    def close(self) -> None:
        """Release what the pager opened (the Apprise log filter)."""
        if self._owned is not None:
            self._owned.close()


async def open_pager(
    settings: Settings,
    *,
    store: Store,
    clock: Clock,
    metrics: Metrics,
    notifier: Notifier | None = None,
    resolver: TargetResolver | None = None,
    rng: random.Random | None = None,
) -> Pager:
    """Build the pager; the defaults are Apprise and the configured on-call schedules."""
    stored_key = await store.meta_value(SIGNING_KEY_META, secrets.token_hex(32))
    paging = settings.paging
    links = AckLinks(
        signing_key(paging.signing_key, stored_key),
        public_url=settings.public_url,
        ttl=paging.ack_link_ttl,
    )
    channels = Channels({o.id: o.notify for o in settings.operators}, paging.fallback)
    planner = Planner(
        levels=[Level(level.after, level.notify) for level in settings.escalation.levels],
        repeat_every=settings.escalation.repeat_every,
        resolver=resolver or Resolver.from_settings(settings),
        channels=channels,
        links=links,
        secrets=settings.secrets_about,
    )
    owned = None
    if notifier is None:
        notifier = owned = AppriseNotifier(settings.service_secrets)
    dispatcher = Dispatcher(
        store=store,
        notifier=notifier,
        channels=channels,
        planner=planner,
        policy=RetryPolicy(paging.max_attempts, paging.retry_initial, paging.retry_max),
        clock=clock,
        metrics=metrics,
        rng=rng or random.Random(),
    )
    return Pager(
        planner=planner,
        links=links,
        dispatcher=dispatcher,
        escalator=Escalator(store=store, planner=planner, clock=clock, metrics=metrics),
        faults=FaultPager(store=store, planner=planner, clock=clock),
        _owned=owned,
    )
