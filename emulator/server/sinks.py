"""Sinks: built-in webhook receivers that keep what arrives, so a run can be watched with no app.

Whoever can reach the server can post to a sink, so what sinks keep is bounded three ways: requests
per sink, sinks in all (the one written to least recently goes first), and bytes in all (the oldest
requests go first). Nothing a sender does can grow the server past these.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

KEEP = 10_000  # requests kept per sink
NAMES = 100  # sinks kept at once
BYTES = 64 * 1024 * 1024  # bodies and headers kept in all


@dataclass(frozen=True, slots=True)
class SinkRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers.items()) + len(self.path)


class Sinks:
    """Every sink's requests, oldest first, within the bounds above."""

    def __init__(self, keep: int = KEEP, names: int = NAMES, limit: int = BYTES) -> None:
        self.keep, self.names, self.limit = keep, names, limit
        self._sinks: OrderedDict[str, deque[SinkRequest]] = OrderedDict()  # least recently written first
        self.size = 0

    def add(self, name: str, request: SinkRequest) -> None:
        kept = self._sinks.get(name)
        if kept is None:
            while len(self._sinks) >= self.names:
                _, dropped = self._sinks.popitem(last=False)
                self.size -= sum(r.size for r in dropped)
            kept = self._sinks[name] = deque()
        self._sinks.move_to_end(name)
        kept.append(request)
        self.size += request.size
        if len(kept) > self.keep:
            self.size -= kept.popleft().size
        while self.size > self.limit:
            # the oldest request of all goes first (a scan of at most NAMES sinks)
            oldest = min((s for s in self._sinks.values() if s), key=lambda s: s[0].at)
            self.size -= oldest.popleft().size

    def get(self, name: str) -> list[SinkRequest]:
        return list(self._sinks.get(name, ()))
