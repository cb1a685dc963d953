"""``idp-emulator serve``: the emulator as a long-running fake IdP on a local port."""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager

from aiohttp import web

from emulator import __version__
from emulator.collector import frozen
from emulator.errors import Problem
from emulator.scenario.model import MAX_ACTIONS
from emulator.server.app import make_app
from emulator.server.guard import Guard
from emulator.server.service import Service
from emulator.stopping import stop_requested
from emulator.store import Store
from emulator.vendors.registry import Registry

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


async def serve(args: argparse.Namespace, default_db: str) -> int:
    if args.host not in LOOPBACK and not args.token and not args.insecure:
        raise Problem(
            f"--host {args.host} lets anyone who can reach this machine use the server and its secrets:"
            " give --token (or IDP_EMULATOR_TOKEN), or --insecure if you mean it"
        )
    config = None
    if args.config:
        from emulator.delivery.config import load_config

        config = load_config(args.config)
    registry = Registry([*(config.templates if config else [])])
    if config is not None and config.oidc.get("vendors"):
        from emulator.oidc.profile import not_served

        why = not_served(registry, list(config.oidc["vendors"]))
        if why:
            raise Problem(f"{args.config}: oidc.vendors: {why}")
    # the writes of every run and API call are committed in groups by the store's writer thread
    store = Store(args.db or (config.store if config and config.store else None) or default_db, background_writes=True)
    max_actions = args.max_actions or (config.max_actions if config and config.max_actions else MAX_ACTIONS)
    service = Service(store, registry, token=args.token, config=config, max_actions=max_actions)
    guard = Guard.for_server(args.host, args.allow_host)
    stop = stop_requested()  # before the banner: a Ctrl-C the moment it shows still ends cleanly
    runner = web.AppRunner(make_app(service, guard), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise Problem(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    host = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{host}:{port}"
    print(f"idp-emulator {__version__} serving on {base}  (store: {store.path})", flush=True)
    print(f"  console   {base}/", flush=True)
    print(f"  API       {base}/api/   (OpenAPI: {base}/api/openapi.json)", flush=True)
    print(f"  sink      {base}/sink/<name>   (see what arrived: {base}/api/sinks/<name>)", flush=True)
    print(f"  JWKS      {base}/.well-known/jwks.json", flush=True)
    if args.host not in LOOPBACK and not args.token:
        print("  warning: --insecure: anyone who can reach this address can use the server", flush=True)
    service.background(service.resume_pending())
    try:
        with collected_rarely():
            await stop.wait()
    finally:
        await service.close()
        await runner.cleanup()
        store.close()
    print("stopped; anything not delivered stays pending and is sent at the next start", file=sys.stderr)
    return 0


YOUNG_EVERY = 20_000  # new objects between young collections (Python's default: 700)
LATER = (50, 20)  # young collections per middle one, middle ones per full one (Python's: 10, 10)


def collected_rarely() -> AbstractContextManager[None]:
    """Python's cycle collector, tuned for a server: by default it runs a young collection every
    700 new objects, and a full one, which holds every request for 100 ms and more, each time the
    heap grows by a quarter. A server answering hundreds of requests a second, each making
    thousands of short-lived objects, spent a fifth of its time there. What exists once the server
    is ready is frozen (never scanned again) and collections run less often; what memory holds is
    bounded as before (runs kept, requests per sink). The previous settings come back after."""
    return frozen(YOUNG_EVERY, LATER)
