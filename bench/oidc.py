"""Token-endpoint benchmark: client-credentials grants per second from the live fake IdP, as ``serve``
runs it, against a bare aiohttp handler doing the least a token endpoint must.

- **provider**: ``idp-emulator serve`` itself (``python -m emulator serve``) in a child process, with an
  ``emulator.yaml`` that registers one confidential client, answering Keycloak's token endpoint
  (``/realms/acme/protocol/openid-connect/token``): client authentication, the grant played as the
  scenario action ``api_login`` (its ``CLIENT_LOGIN`` event rendered, stored and handed to delivery),
  the access token's claims rendered from ``keycloak/oidc.yaml`` and signed RS256.
- **bare**: an aiohttp application in another child process with one route on the same path: it
  reads the form, checks the same client id and secret from HTTP Basic (constant-time), and signs
  the same claims (the provider's own token's, with a fresh ``iat``, ``exp`` and ``jti``) RS256 with
  the same JOSE library the provider uses (PyJWT, over cryptography), and answers the same JSON.

One load client in this process (an ``aiohttp.ClientSession``, ``--concurrency`` workers each
POSTing ``grant_type=client_credentials`` with HTTP Basic and reading the answer) drives both sides
in interleaved rounds of ``--seconds`` each; a rate is answered 200s over the round's wall time,
the figure the median of ``--rounds``, each round's ratio printed as the spread.
Target: the provider at 0.7 times the bare handler or better.

``--profile [ROWS]`` runs one more provider round with ``serve`` under cProfile and prints the
functions with the most own time.

A benchmark, not a test: it always exits 0 and prints PASS or BELOW TARGET.

    .venv/bin/python bench/oidc.py                      # 3 rounds of 5 s per side, concurrency 16
    .venv/bin/python bench/oidc.py --rounds 1 --seconds 2   # a smoke run
    .venv/bin/python bench/oidc.py --profile            # then where the provider's time goes
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import jwt
from procstat import process_cpu

TARGET = 0.7  # provider / bare
HOST = "127.0.0.1"
PATH = "/realms/acme/protocol/openid-connect/token"
CLIENT = "bench-service"
SECRET = "bench-service-secret-of-some-length"
GRANT = {"grant_type": "client_credentials"}
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()}
WARM_UP = 1.0  # seconds of load on each side before the rounds (imports, first keys, first connections)

# The bare side, run by a second interpreter (``python -c``): its claims arrive as JSON in argv.
BARE = """
import base64, hmac, json, secrets, sys, time
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

HOST, PORT, PATH, CLIENT, SECRET = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
CLAIMS = json.loads(sys.argv[6])
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
HEADERS = {"typ": "JWT", "kid": secrets.token_urlsafe(16)}

async def token(request):
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    name, _, secret = base64.b64decode(request.headers.get("Authorization", "")[6:]).decode().partition(":")
    if name != CLIENT or not hmac.compare_digest(secret.encode(), SECRET.encode()):
        return web.json_response({"error": "invalid_client"}, status=401)
    now = int(time.time())
    claims = dict(CLAIMS, iat=now, exp=now + 300, jti=secrets.token_hex(16))
    access = jwt.encode(claims, KEY, algorithm="RS256", headers=HEADERS)
    body = {"access_token": access, "expires_in": 300, "token_type": "Bearer", "scope": claims.get("scope", "")}
    return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

app = web.Application()
app.router.add_post(PATH, token)
web.run_app(app, host=HOST, port=PORT, access_log=None, print=None, handle_signals=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int, what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited (code {process.returncode})") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not listen on {HOST}:{port} within 60 s") from None
            time.sleep(0.02)


class Side:
    """A server in a child process: started on a free port, stopped (SIGINT, then kill) on the way out."""

    def __init__(self, label: str, command: list[str], port: int) -> None:
        self.label = label
        self.command = command
        self.port = port
        self.url = f"http://{HOST}:{port}{PATH}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Side:
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        wait_listening(self.process, self.port, self.label)
        return self

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server process so far (from /proc)."""
        return process_cpu(self.process.pid if self.process else None)

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # serve stops cleanly (and cProfile writes its file)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def provider_side(folder: Path, profile: Path | None = None) -> Side:
    """``idp-emulator serve`` with one confidential client allowed the client credentials grant."""
    config = folder / "emulator.yaml"
    config.write_text(f"clients:\n  - id: {CLIENT}\n    secret: {SECRET}\n    grants: [client_credentials]\n", "utf-8")
    port = free_port()
    db = folder / f"store-{port}.db"
    run = ["-m", "cProfile", "-o", str(profile)] if profile else []
    command = [sys.executable, *run, "-m", "emulator", "serve", "--port", str(port), "--config", str(config)]
    return Side("provider", [*command, "--db", str(db)], port)


def bare_side(claims: dict[str, Any]) -> Side:
    port = free_port()
    return Side("bare", [sys.executable, "-c", BARE, HOST, str(port), PATH, CLIENT, SECRET, json.dumps(claims)], port)


async def load(url: str, seconds: float, concurrency: int) -> tuple[float, int, int]:
    """Answered 200s per second over ``seconds`` of ``concurrency`` workers, the other answers, and the 200s."""
    ok = bad = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal ok, bad
            while time.perf_counter() < stop:
                async with session.post(url, data=GRANT, headers=AUTH) as answer:
                    await answer.read()
                    if answer.status == 200:
                        ok += 1
                    else:
                        bad += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        took = time.perf_counter() - began
    return ok / took, bad, ok


async def provider_claims(url: str) -> dict[str, Any]:
    """The claims of a token the provider issued: the bare side signs the same."""
    async with aiohttp.ClientSession() as session, session.post(url, data=GRANT, headers=AUTH) as answer:
        body = await answer.json()
    claims: dict[str, Any] = jwt.decode(body["access_token"], options={"verify_signature": False})
    return claims


async def compare(args: argparse.Namespace, folder: Path) -> None:
    with provider_side(folder) as provider:
        claims = await provider_claims(provider.url)
        with bare_side(claims) as bare:
            sides = [bare, provider]
            for side in sides:
                await load(side.url, WARM_UP, args.concurrency)
            rates: dict[str, list[float]] = {s.label: [] for s in sides}
            costs: dict[str, list[float]] = {s.label: [] for s in sides}
            for number in range(1, args.rounds + 1):
                for side in sides:
                    cpu = side.cpu_seconds()
                    rate, failed, answered = await load(side.url, args.seconds, args.concurrency)
                    per = 1e6 * (side.cpu_seconds() - cpu) / max(answered, 1)
                    rates[side.label].append(rate)
                    costs[side.label].append(per)
                    note = f"  ({failed} not 200)" if failed else ""
                    print(
                        f"round {number}  {side.label:<9} {rate:>9,.0f} tokens/s  {per:>6,.0f} us CPU per token{note}",
                        flush=True,
                    )
    bare_rate = statistics.median(rates["bare"])
    provider_rate = statistics.median(rates["provider"])
    ratio = provider_rate / bare_rate if bare_rate else 0.0
    print(f"\nmedian of {args.rounds} rounds, concurrency {args.concurrency}, {args.seconds:g} s each:")
    sides_named = (("bare", "bare aiohttp + PyJWT", bare_rate), ("provider", "provider (serve)", provider_rate))
    for label, name, rate in sides_named:
        cost = statistics.median(costs[label])
        print(f"  {name:<22} {rate:>9,.0f} tokens/s  {cost:>6,.0f} us of its process's CPU per token")
    verdict = "PASS" if ratio >= TARGET else "BELOW TARGET"
    print(f"  ratio                  {ratio:>9.2f}x   (target {TARGET}x or better: {verdict})")
    # each round's own ratio (its provider round against the bare round just before it): the spread
    per_round = [p / b if b else 0.0 for b, p in zip(rates["bare"], rates["provider"], strict=True)]
    shown = ", ".join(f"{r:.2f}x" for r in per_round)
    print(f"  per round              {shown}   (spread {min(per_round):.2f}x-{max(per_round):.2f}x)")


async def profile_round(args: argparse.Namespace, folder: Path) -> None:
    output = folder / "serve.prof"
    with provider_side(folder, output) as provider:
        await load(provider.url, WARM_UP, args.concurrency)
        rate, _, _ = await load(provider.url, args.seconds, args.concurrency)
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(str(output)).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values()) or 1.0
    print(f"\nprofile of one more provider round under cProfile ({rate:,.0f} tokens/s; own time, all of serve's life):")
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[: args.profile]
    for (filename, line, name), row in rows:
        where = f"{Path(filename).name}:{line}" if line else filename
        print(f"  {100 * row[2] / total:5.1f}%  {row[2]:7.2f}s  {name}  ({where})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per side (default 3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per round (default 5)")
    parser.add_argument("--concurrency", type=int, default=16, help="load client's workers (default 16)")
    parser.add_argument(
        "--profile", type=int, nargs="?", const=25, default=0, metavar="ROWS",
        help="then profile one more provider round and print its top functions (default 25)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; client credentials, RS256, Keycloak's path")
    with tempfile.TemporaryDirectory(prefix="bench-oidc-") as folder:
        asyncio.run(compare(args, Path(folder)))
        if args.profile:
            asyncio.run(profile_round(args, Path(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
