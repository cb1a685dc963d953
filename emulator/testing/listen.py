"""``idp-emulator listen``: a webhook receiver for the terminal, like ``stripe listen``.

Prints one line per webhook (time, type, id, user, signature verdict, answer), the pretty body on
request, and can forward each webhook to a local app, answering the sender with the app's answer
(a ``--respond`` failure is answered as scripted, without forwarding: the app sees what got through).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

import aiohttp

from emulator.errors import Problem
from emulator.stopping import stop_requested
from emulator.testing.receiver import Webhook, WebhookReceiver
from emulator.vendors.registry import Registry

HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade"}


def parse_answers(text: str | None) -> list[int | str]:
    """``--respond 500,500,200`` (or drop, hang) as a list of answers."""
    if not text:
        return []
    out: list[int | str] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("drop", "hang"):
            out.append(part)
        elif part.isdigit() and 100 <= int(part) <= 599:
            out.append(int(part))
        else:
            raise Problem(f"--respond: {part!r} is not a status code (100-599), 'drop' or 'hang'")
    return out


def printable(text: str) -> str:
    """What a receiver sent, safe for a terminal: control characters (escape sequences) shown as \\xNN."""
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" for c in text)


def line(webhook: Webhook) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(webhook.at))
    user = f"  user={webhook.user}" if webhook.user else ""
    if webhook.batch > 1:
        user += f"  [{webhook.position + 1}/{webhook.batch} in one request]"
    return printable(
        f"{stamp}  {webhook.method} {webhook.path}  {webhook.type or '?'}  id={webhook.id or '?'}{user}"
        f"  {webhook.verdict}  -> {webhook.answered}"
    ).replace("\n", "\\n")


async def listen(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    registry = Registry(args.templates)
    if args.vendor:
        registry.vendor(args.vendor)
    answers = parse_answers(args.respond)
    session: aiohttp.ClientSession | None = None

    async def forward(webhook: Webhook) -> tuple[int, dict[str, str], bytes] | None:
        assert session is not None
        headers = {k: v for k, v in webhook.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            async with session.post(args.forward_to, data=webhook.body, headers=headers) as response:
                body = await response.content.read(65536)
                webhook.forwarded = f"forwarded to {args.forward_to}: {response.status}"
                return response.status, {"Content-Type": response.headers.get("Content-Type", "text/plain")}, body
        except (aiohttp.ClientError, TimeoutError) as exc:
            webhook.forwarded = f"forwarding to {args.forward_to} failed: {exc or type(exc).__name__}"
            return 502, {}, b"forwarding failed"

    def show(webhook: Webhook) -> None:
        print(line(webhook), file=out, flush=True)
        if webhook.forwarded:  # under the webhook it belongs to
            print(f"          {printable(webhook.forwarded)}", file=out, flush=True)
        if args.print_body:
            try:
                text = json.dumps(webhook.json(), indent=2, ensure_ascii=False)
            except ValueError:
                text = webhook.body.decode("utf-8", "replace")
            print(printable(text), file=out, flush=True)

    receiver = WebhookReceiver(
        args.vendor,
        args.secret,
        args.signing,
        host=args.host,
        port=args.port,
        registry=registry,
        answer_hook=forward if args.forward_to else None,
        on_webhook=show,
        keep=1000,  # the terminal shows them; keep only the last ones in memory
        on_verification=lambda method, path, challenge: print(
            printable(f"{time.strftime('%H:%M:%S')}  {method} {path}  verification challenge answered"),
            file=out,
            flush=True,
        ),
    )
    if answers:
        receiver.respond(*answers)
        if not args.vendor:
            print("note: without --vendor, event ids are guessed; --respond counts per id it finds", file=out)
    stop = stop_requested()  # before the banner: a Ctrl-C the moment it shows still ends cleanly
    try:
        await receiver.start()
    except OSError as exc:
        raise Problem(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None
    if args.forward_to:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    if not receiver.secrets:
        checks = "not checking signatures (no --secret)"
    elif receiver.scheme == "none":
        checks = "not checking signatures (no --vendor or --signing says which scheme)"
    else:
        checks = f"checking {receiver.scheme} signatures"
    print(f"listening on {receiver.url} (any path) · {checks} · Ctrl-C to stop", file=out, flush=True)
    try:
        await stop.wait()
    finally:
        await receiver.stop()
        if session is not None:
            await session.close()
    count = len(receiver.received)
    print(f"\n{count} webhook{'' if count == 1 else 's'} received", file=out, flush=True)
    return 0
