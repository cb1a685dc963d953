"""Load benchmark: deliveries per second of one Locust worker running the emulator's user class,
against one Locust worker posting the same bodies rendered and signed beforehand.

- **ours**: ``idp-emulator load SCENARIO --vendor V --users U --duration T --workers 1``, as users
  run it: each user plays the scenario, renders each event, signs it and posts it (Locust's fast
  HTTP client), one after another.
- **bare**: ``locust -f bench/load_bare.py --processes 1`` with the same users and time: each user
  posts the bodies and headers of the same users' events, rendered and signed before the round
  (``load_bare.py`` has no emulator code), with the same client and answer handling.
- **two workers**: ours with ``--workers 2``: what two worker processes reach on this machine.

Both sides post to one receiver in its own process (asyncio with llhttp's parser, answering 204
at once), which counts requests and notes the first and last arrival; a side's rate is the
requests it received over that span, so Locust's start-up and warm-up are not counted for either.
The sides run in interleaved rounds (ours, bare, two workers, ours, ...) and the median of the rounds
is reported. **Target**: ours at 0.7 times bare or better.

A benchmark, not a test: it always exits 0 and prints PASS or BELOW TARGET.

    .venv/bin/python bench/load.py                  # keycloak, 20 users, 5 s a side, 3 rounds
    .venv/bin/python bench/load.py --vendor fusionauth --rounds 5
    .venv/bin/python bench/load.py --seconds 2 --rounds 1   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from receiver import HOST, ReceiverProcess, free_port  # noqa: E402

from emulator.delivery.request import signed_request  # noqa: E402
from emulator.delivery.runner import body_bytes  # noqa: E402
from emulator.load.plan import build_plan  # noqa: E402

TARGET = 0.7
SECRET = "bench-load-secret-of-32-bytes-and-more"

# The receiver's program, run by a second interpreter: POST anything -> 204; GET /stats -> the count
# and the first and last arrival since the last GET /stats (which starts the count again).
RECEIVER = r"""
import asyncio, json, sys, time
import httptools

state = {"count": 0, "first": None, "last": None}

class Hook(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""

    def on_url(self, url):
        self.url += url

    def on_message_complete(self):
        if self.parser.get_method() == b"GET" and self.url.startswith(b"/stats"):
            body = json.dumps(state).encode()
            state.update(count=0, first=None, last=None)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            self.transport.write(head + body)
        else:
            now = time.monotonic()
            state["count"] += 1
            state["first"] = state["first"] or now
            state["last"] = now
            self.transport.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        self.url = b""

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

async def main():
    server = await asyncio.get_running_loop().create_server(Hook, sys.argv[1], int(sys.argv[2]), backlog=1024)
    await server.serve_forever()

asyncio.run(main())
"""


class Receiver(ReceiverProcess):
    """The counting receiver above."""

    def __init__(self) -> None:
        super().__init__(RECEIVER, "/hooks/idp")

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://{HOST}:{self.port}/stats", timeout=10) as answer:
            data: dict[str, float] = json.loads(answer.read())
        return data


def prerender(args: argparse.Namespace, url: str, path: Path) -> int:
    """Each user's events as ours would send them (same seed, start, worker 0 and user numbers)."""
    options = argparse.Namespace(
        scenario=args.scenario, vendor=[args.vendor], templates=[], secret=SECRET, signing=None, header=[],
        events=[], fault=[], signed_time=None, seed=1, start=args.start,
        tls_ca_file=None, tls_no_verify=False, tls_client_cert=None, tls_client_key=None,
    )  # fmt: skip
    plan = build_plan(options, url)
    target = plan.targets[args.vendor]
    now = int(time.time())
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for user in range(args.users):
            rows = []
            for event in islice(plan.events(0, user), args.per_user):
                outgoing = signed_request(target, event.id, body_bytes(event), now)
                rows.append((event.type, {**target.headers, **outgoing.headers}, outgoing.body.decode()))
            out.write(json.dumps(rows) + "\n")
            count += len(rows)
    return count


def run_side(side: str, args: argparse.Namespace, receiver: Receiver, bodies: Path) -> tuple[float, int]:
    """One round of one side: (requests a second at the receiver, requests)."""
    seconds = f"{args.seconds:g}s"
    env = {**os.environ, "IDP_EMULATOR_SECRET": SECRET, "BARE_BODIES": str(bodies)}
    if side == "bare":
        command = [
            sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_bare.py"), "--headless", "--only-summary",
            "--host", receiver.url, "--users", str(args.users), "--spawn-rate", str(args.users), "--run-time", seconds,
            "--processes", "1", "--master-bind-host", HOST, "--master-bind-port", str(port := free_port()),
            "--master-port", str(port), "--stop-timeout", "5",
        ]  # fmt: skip
    else:
        workers = "2" if side == "two workers" else "1"
        command = [
            sys.executable, "-m", "emulator", "load", args.scenario, "--vendor", args.vendor, "--target", receiver.url,
            "--users", str(args.users), "--duration", seconds, "--workers", workers, "--seed", "1",
            "--start", args.start, "--json",
        ]  # fmt: skip
    receiver.stats()  # count from zero
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, check=False)
    got = receiver.stats()
    span = (got["last"] or 0) - (got["first"] or 0)
    return (got["count"] / span if span > 0 else 0.0), int(got["count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vendor", default="keycloak")
    parser.add_argument("--scenario", default="login")
    parser.add_argument("--users", type=int, default=20, help="Locust users per side (default 20)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each side runs a round (default 5)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-user", type=int, default=3000, help="events rendered beforehand per bare user")
    parser.add_argument("--start", default="2026-03-01T09:00:00Z")
    args = parser.parse_args()
    print(
        f"bench/load.py: {args.scenario} as {args.vendor}, {args.users} users, {args.seconds:g} s a side,"
        f" {args.rounds} rounds; {os.cpu_count()} cores, Python {platform.python_version()},"
        f" load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    sides = ("ours", "bare", "two workers")
    rates: dict[str, list[float]] = {side: [] for side in sides}
    with Receiver() as receiver, tempfile.TemporaryDirectory() as folder:
        bodies = Path(folder) / "bodies.jsonl"
        print(f" rendered beforehand for bare: {prerender(args, receiver.url, bodies):,} events", flush=True)
        for n in range(1, args.rounds + 1):
            line = []
            for side in sides:
                rate, count = run_side(side, args, receiver, bodies)
                rates[side].append(rate)
                line.append(f"{side} {rate:,.0f}/s ({count:,})")
            print(f" round {n}: " + " | ".join(line), flush=True)
    ours, bare, two = (statistics.median(rates[side]) for side in sides)
    # each round's ratio, then their median: a machine whose load drifts between rounds moves both sides
    ratio = statistics.median(o / b if b else 0.0 for o, b in zip(rates["ours"], rates["bare"], strict=True))
    print()
    print(f"one worker, emulator's user class: {ours:,.0f} deliveries/s (median of {args.rounds})")
    print(f"one worker, bare Locust user:      {bare:,.0f} deliveries/s")
    print(f"two workers, emulator's user class: {two:,.0f} deliveries/s ({two / ours if ours else 0:.2f}x one worker)")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    print(f"target ours >= {TARGET}x bare (median of the rounds' ratios): {ratio:.2f}x", end=" ")
    print("PASS" if ratio >= TARGET else "BELOW TARGET")


if __name__ == "__main__":
    main()
