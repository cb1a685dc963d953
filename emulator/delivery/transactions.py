"""Webhook transactions (FusionAuth's): whether enough webhooks answered 2xx for the IdP to commit.

The rules are vendor data (``delivery.transactions`` in the catalog: a share of webhooks per
transaction type, the transactional event types, the answer the caller gets); this module only
counts. The runner sends a transactional event's first attempts together, asks ``decide``, and
lets the failed deliveries be retried only when the transaction held and its type is not None.
Under None nothing is needed, so the play does not wait: the webhooks travel as any other event's
and the verdict counts their first attempts as they finish.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from emulator.errors import Problem


@dataclass(frozen=True)
class Transactions:
    """One vendor's transaction rules, with the run's chosen type."""

    kind: str  # None, Any, SimpleMajority, SuperMajority, AbsoluteMajority
    share: str  # "0", "1", "1/2", "2/3", "all"
    events: frozenset[str]
    answer: str
    every_event: bool = False  # a step's own transaction covers all its events

    def applies(self, event_type: str) -> bool:
        return self.every_event or event_type in self.events

    def needed(self, webhooks: int) -> int:
        """How many of ``webhooks`` must answer 2xx for the operation to commit."""
        if self.share == "all":
            return webhooks
        if "/" in self.share:
            return math.ceil(Fraction(self.share) * webhooks)
        return min(int(self.share), webhooks)

    def holds(self, succeeded: int, webhooks: int) -> bool:
        return succeeded >= self.needed(webhooks)

    @property
    def waits(self) -> bool:
        """Whether the IdP's answer waits on the webhooks (not under None, where nothing is needed: the
        play goes on at once and the webhooks travel as any other event's)."""
        return self.share != "0"

    @property
    def retries(self) -> bool:
        """Whether failed webhooks of a committed operation are retried (not under None)."""
        return self.share != "0"


# Every transaction type, once, with the share of webhooks that must answer 2xx for the action to
# commit (FusionAuth's TransactionType; a scenario step's ``transaction:`` uses the same names).
TYPES: dict[str, str] = {
    "None": "0",
    "Any": "1",
    "SimpleMajority": "1/2",
    "SuperMajority": "2/3",
    "AbsoluteMajority": "all",
}
TYPES_DOC = "None: none; Any: one; SimpleMajority: half; SuperMajority: two thirds; AbsoluteMajority: all"
GENERIC_ANSWER = "the IdP refused the action: not enough of its webhooks answered 2xx"


def step_transaction(kind: str, delivery: dict[str, Any]) -> Transactions:
    """A scenario step's own transaction: every event of the step counts, with the vendor's answer if any."""
    spec = delivery.get("transactions") or {}
    share = TYPES[kind]
    return Transactions(kind, share, frozenset(), str(spec.get("answer") or GENERIC_ANSWER), every_event=True)


def transactions_for(delivery: dict[str, Any], kind: str | None, vendor: str) -> Transactions | None:
    """The rules of a vendor's catalog for the run's transaction type; None when either is absent."""
    spec = delivery.get("transactions")
    if not kind or not spec:
        return None
    if kind not in TYPES:
        raise Problem(f"transaction type {kind!r} is not one of: {', '.join(TYPES)}")
    return Transactions(kind, TYPES[kind], frozenset(spec.get("events") or ()), str(spec.get("answer", "")))
