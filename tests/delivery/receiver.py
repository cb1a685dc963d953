"""A webhook consumer for delivery tests: records every request and answers as it is told."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict


@dataclass
class Request:
    body: bytes
    headers: CIMultiDict
    method: str
    url: str
    at: float  # time.monotonic() when it arrived

    @property
    def event_id(self) -> str:
        """The vendor event id, wherever the vendor puts it."""
        data = json.loads(self.body)
        for path in (("event", "id"), ("id",), ("eventId",), ("uid",)):
            node: Any = data
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, str):
                return node
        raise KeyError("no event id in body")


# An answer: a status (with optional headers and body), or a behaviour: ("sleep", s), ("reset",).
Answer = tuple[Any, ...]


@dataclass
class Receiver:
    """``answer(request, nth_time_this_event_arrived)`` decides each reply (200 by default)."""

    answer: Callable[[Request, int], Answer] = lambda request, nth: (200,)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _seen: dict[str, int] = field(default_factory=dict)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    on_request: Callable[[Request], None] | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        record = Request(
            await request.read(), CIMultiDict(request.headers), request.method, str(request.url), time.monotonic()
        )
        self.requests.append(record)
        self._arrived.set()
        if self.on_request:
            self.on_request(record)
        try:
            key = record.event_id
        except (KeyError, ValueError):
            key = ""
        self._seen[key] = self._seen.get(key, 0) + 1
        action = self.answer(record, self._seen[key])
        if action[0] == "sleep":
            await asyncio.sleep(action[1])
            return web.Response(status=200)
        if action[0] == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=200)
        if action[0] == "big":
            response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            chunk = b"x" * 65536
            try:
                for _ in range(action[1] // len(chunk)):
                    await response.write(chunk)
            except (ConnectionError, RuntimeError):
                pass  # the sender hung up after reading what it keeps: that is the point
            return response
        status, headers, body = (*action, None, None)[:3]
        return web.Response(status=status, headers=headers or {}, body=body)

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` requests have arrived (event-driven, no polling sleep)."""

        async def until() -> None:
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(until(), timeout)

    def by_event(self) -> dict[str, list[Request]]:
        out: dict[str, list[Request]] = {}
        for r in self.requests:
            out.setdefault(r.event_id, []).append(r)
        return out


async def start_receiver(aiohttp_server, receiver: Receiver | None = None, path: str = "/hooks/idp") -> Receiver:
    receiver = receiver or Receiver()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post(path, receiver.handle)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url(path))
    return receiver
