"""The flags that say how a target's deliveries travel, defined once.

``run`` and ``load`` take the same target, signing, secret, seed and fault flags, and a Locust
process takes them as its own options (``emulator.load`` adds them to Locust's parser, each also
read from an ``IDP_EMULATOR_*`` variable there). Each flag is defined here and read here
(``target_spec``), so the three cannot drift apart.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Collection
from typing import Any

import yaml
from yarl import URL

from emulator.errors import Problem

SECRET_ENV = "IDP_EMULATOR_SECRET"
ENV_PREFIX = "IDP_EMULATOR_"


def _adder(parser: Any, env_prefix: str | None) -> Any:
    """``add_argument`` of ``parser`` (or of one of its groups); with ``env_prefix`` (Locust's
    configargparse parser) each flag is also read from ``{env_prefix}{FLAG}``."""

    def add(*names: str, **kw: Any) -> None:
        if env_prefix is not None:
            flag = next(n for n in names if n.startswith("--"))
            kw["env_var"] = env_prefix + flag[2:].replace("-", "_").upper()
        parser.add_argument(*names, **kw)

    return add


def add_target_flags(
    parser: argparse.ArgumentParser, env_prefix: str | None = None, secret_settings: dict[str, Any] | None = None
) -> None:
    """How deliveries to a ``--target`` URL are signed, what they carry, and the faults they get
    (``secret_settings``: more of the parser's settings for ``--secret``, such as Locust's
    ``include_in_web_ui``)."""
    from emulator.delivery.faults import KINDS
    from emulator.delivery.signing import SCHEMES
    from emulator.delivery.targets import SIGNED_TIMES

    add = _adder(parser, env_prefix)
    add(
        "--secret",
        default=None,
        help=f"signing secret for --target URLs (default: ${SECRET_ENV})",
        **(secret_settings or {}),
    )
    add(
        "--signing",
        default=None,
        metavar="SCHEME",
        help=f"signing scheme: {', '.join(SCHEMES)} (default: the vendor's)",
    )
    add("--header", action="append", default=[], metavar="'NAME: VALUE'", help="extra request header")
    add("--events", action="append", default=[], metavar="GLOB", help="deliver only these event types")
    add(
        "--fault",
        action="append",
        default=[],
        metavar="FAULT",
        help=f"inject a fault, written as in emulator.yaml: {', '.join(KINDS)}, or with settings"
        " ('duplicate: {copies: 2, probability: 0.1}'); repeatable",
    )
    add(
        "--signed-time",
        choices=tuple(SIGNED_TIMES),
        default=None,
        help="time in signed headers: now, the attempt's wall clock (default), or its scenario time (byte-identical)",
    )
    tls = _adder(parser.add_argument_group("TLS for --target https:// URLs (in --config: a target's tls)"), env_prefix)
    tls("--tls-ca-file", default=None, metavar="PEM", help="trust these CAs instead of the system's")
    tls(
        "--tls-no-verify",
        action="store_true",
        help="check no certificate or host name: for development servers with a self-signed certificate ONLY",
    )
    tls("--tls-client-cert", default=None, metavar="PEM", help="client certificate (mTLS); may hold the key")
    tls("--tls-client-key", default=None, metavar="PEM", help="its unencrypted key, if in another file")


def add_seed_flags(parser: argparse.ArgumentParser, env_prefix: str | None = None) -> None:
    """What makes a play repeatable: the seed, and the scenario's start time."""
    add = _adder(parser, env_prefix)
    add("--seed", type=int, default=None, help="same seed, same events (default: random)")
    add("--start", default=None, help="scenario start time, ISO 8601 (default: now)")


def as_argv(args: argparse.Namespace, skip: Collection[str] = ("secret",)) -> list[str]:
    """The target and seed flags ``args`` holds, as a command line for another process that takes
    them too (a Locust process); ``skip``: what travels otherwise (the secret, in the environment)."""
    probe = argparse.ArgumentParser(add_help=False)
    add_target_flags(probe)
    add_seed_flags(probe)
    argv: list[str] = []
    for action in probe._actions:  # argparse lists a parser's flags only here
        value = getattr(args, action.dest, None)
        if action.dest in skip or not action.option_strings or value in (None, False, []):
            continue
        flag = action.option_strings[-1]
        if value is True:
            argv.append(flag)
        else:
            argv += [f"{flag}={v}" for v in (value if isinstance(value, list) else [value])]
    return argv


def url_name(url: str, used: Collection[str] = ()) -> str:
    """The name of a target given by URL: its host, port and path (a query string may carry a
    token), made unique among ``used``."""
    try:
        parts = URL(url)
        where = f"{parts.host or ''}-{parts.port or ''}{parts.path}"
    except (ValueError, TypeError):
        where = "target"
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", where).strip("-._")[:48] or "target"
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}-{n}"
    return name


def target_spec(args: argparse.Namespace, name: str, url: str) -> dict[str, Any]:
    """A target's written form from the flags ``add_target_flags`` defines."""
    spec: dict[str, Any] = {"name": name, "url": url}
    signing: dict[str, Any] = {}
    if args.signing:
        signing["scheme"] = args.signing
    given = secret(args)
    if given:
        signing["secret"] = given
        if args.signing == "header":
            signing["value"] = given
    if signing:
        spec["signing"] = signing
    if args.header:
        headers = {}
        for raw in args.header:
            name_, sep, value = raw.partition(":")
            if not sep or not name_.strip():
                raise Problem(f"--header {raw!r}: expected 'Name: value'")
            headers[name_.strip()] = value.strip()
        spec["headers"] = headers
    if args.events:
        spec["events"] = args.events
    if args.fault:
        spec["faults"] = [_fault(raw) for raw in args.fault]
    if args.signed_time:
        spec["signed_time"] = args.signed_time
    tls = tls_flags(args)
    if tls:
        spec["tls"] = tls
    return spec


def _fault(raw: str) -> Any:
    """One ``--fault`` as YAML: a kind's name, or ``kind: {settings}`` (checked with the target)."""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not YAML"
        raise Problem(f"--fault {raw!r}: {problem}; write a kind, or 'duplicate: {{copies: 2}}'") from None


def tls_flags(args: argparse.Namespace) -> dict[str, Any]:
    """``--tls-*`` as a target's ``tls``; paths made absolute, so ``resume`` finds them from anywhere."""
    tls: dict[str, Any] = {}
    for key in ("ca_file", "client_cert", "client_key"):
        value = getattr(args, f"tls_{key}", None)
        if value:
            tls[key] = os.path.abspath(os.path.expanduser(value))
    if getattr(args, "tls_no_verify", False):
        tls["verify"] = False
    return tls


def secret(args: argparse.Namespace) -> str | None:
    """``--secret``, else a reference to ``$IDP_EMULATOR_SECRET`` (so the store keeps only the reference)."""
    if args.secret:
        return str(args.secret)
    if os.environ.get(SECRET_ENV):
        return "${" + SECRET_ENV + "}"
    return None
