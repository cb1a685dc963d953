"""The ``idp-emulator`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from emulator import __version__
from emulator.errors import EmulatorError, Problem, ScenarioError
from emulator.store.schema import DEFAULT_DB

if TYPE_CHECKING:
    from emulator.vendors.registry import Registry

VALIDATE_PLAY_LIMIT = 100_000


def _schemes_help() -> str:
    from emulator.delivery.signing import SCHEMES

    return f"signing scheme: {', '.join(SCHEMES)} (default: the vendor's)"


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; only ``command``'s own options are built (each pulls in only what it names)."""
    parser = argparse.ArgumentParser(
        prog="idp-emulator",
        description="Play identity-provider scenarios and get each vendor's exact webhook events.",
    )
    parser.add_argument("--version", action="version", version=f"idp-emulator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (text, options) in _subcommands().items():
        subparser = sub.add_parser(name, help=text)
        if options is not None and command in (name, None):
            options(subparser)
    return parser


def _subcommands() -> dict[str, tuple[str, Callable[[argparse.ArgumentParser], None] | None]]:
    return {
        "render": ("print a scenario's events for one vendor as JSON Lines", _render_options),
        "validate": ("check scenario files; print file:line:column: message per problem", _validate_options),
        "catalog": ("vendors, actions, event types and error codes", _catalog_options),
        "run": ("play a scenario and deliver its events to webhook targets", _run_options),
        "load": ("load-test a webhook consumer: Locust users deliver a scenario's events", _load_options),
        "resume": ("deliver everything still pending in a store (after a crash or a kill)", _resume_options),
        "resend": ("deliver failed deliveries again (same event ids), then resume", _resend_options),
        "serve": ("run the emulator as a fake IdP with a REST API on a local port", _serve_options),
        "listen": ("receive webhooks in the terminal, check signatures, forward to your app", _listen_options),
        "list": ("list the bundled scenarios", None),
        "schema": ("print the JSON Schema for scenario files (or emulator.yaml)", _schema_options),
    }


def _render_options(render: argparse.ArgumentParser) -> None:
    render.add_argument("scenario", help="a scenario file, or a bundled scenario's name (see 'list')")
    render.add_argument(
        "--vendor", required=True, help="flip, keycloak, fusionauth, idaas, strivacity, ...; a release: keycloak@26.1"
    )
    render.add_argument("--seed", type=int, default=None, help="same seed, same output (default: random)")
    render.add_argument(
        "--start",
        default=None,
        help="scenario start time, ISO 8601 (default with --seed: 2026-01-01T00:00:00Z; else now)",
    )
    render.add_argument("--pretty", action="store_true", help="indented JSON for people")
    render.add_argument(
        "--templates", action="append", default=[], metavar="DIR", help="folder of vendor overrides or extra vendors"
    )
    render.add_argument("--body-only", action="store_true", help="print only each event's payload")
    _override_options(render)


def _override_options(parser: argparse.ArgumentParser) -> None:
    """``--set`` and ``--unset``, the same for every command that renders events (emulator/overrides.py)."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="[TYPE:]PATH=VALUE",
        help="change a field of each event (of TYPE, a glob) after rendering, before signing; VALUE is JSON or"
        " text; repeatable; a path that matches nothing is an error",
    )
    parser.add_argument(
        "--unset", action="append", default=[], dest="unsets", metavar="[TYPE:]PATH", help="remove a field; repeatable"
    )


def _validate_options(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders")
    validate.add_argument("--templates", action="append", default=[], metavar="DIR")


def _catalog_options(catalog: argparse.ArgumentParser) -> None:
    catalog.add_argument("--vendor", default=None, help="one vendor, or one release of it (fusionauth@1.45)")
    catalog.add_argument("--json", action="store_true", help="machine-readable output")
    catalog.add_argument("--examples", action="store_true", help="an example payload for each event type")
    catalog.add_argument(
        "--schema",
        default=None,
        metavar="VENDOR[:TYPE]",
        help="print the JSON Schema (2020-12) of each event type of VENDOR (an object by type), or of one TYPE",
    )
    catalog.add_argument("--templates", action="append", default=[], metavar="DIR")


def _run_options(run: argparse.ArgumentParser) -> None:
    from emulator.delivery.flags import add_seed_flags, add_target_flags
    from emulator.delivery.retry import preset_names
    from emulator.delivery.targets import ORDERINGS
    from emulator.delivery.transactions import TYPES as TRANSACTION_TYPES

    run.add_argument("scenario", help="a scenario file, or a bundled scenario's name (see 'list')")
    run.add_argument(
        "--vendor", default=None, help="whose events (default for --target URLs); a release: keycloak@26.1"
    )
    run.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="URL|NAME",
        help="a URL, or a target's name in --config; repeat to fan out (default: every target in --config)",
    )
    add_target_flags(run)
    run.add_argument(
        "--retry",
        default=None,
        metavar="POLICY",
        help=f"vendor (default), a vendor's name, {', '.join(preset_names())}, or a vendor's preset (keycloak-strict)",
    )
    run.add_argument("--concurrency", type=int, default=None, help="attempts in flight per target (default 8)")
    run.add_argument("--ordering", choices=tuple(ORDERINGS), default=None, help="default: actor")
    run.add_argument(
        "--transaction",
        default=None,
        choices=tuple(TRANSACTION_TYPES),
        help="FusionAuth's webhook transaction type: transactional events commit only if enough webhooks answer 2xx",
    )
    add_seed_flags(run)
    _store_options(run)
    run.add_argument(
        "--pace", action="store_true", help="play the scenario's waits in real time (scaled by --time-scale)"
    )
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    run.add_argument(
        "--max-actions", type=int, default=None, metavar="N", help="actions a run may play (default 1,000,000)"
    )
    run.add_argument("--templates", action="append", default=[], metavar="DIR")
    _override_options(run)


def _load_options(load: argparse.ArgumentParser) -> None:
    from emulator.load.command import add_options

    add_options(load)


def _resume_options(resume: argparse.ArgumentParser) -> None:
    _store_options(resume)
    resume.add_argument("--run", default=None, help="only this run")
    resume.add_argument("--secret", default=None, help="secret for targets whose secret was not stored")
    resume.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    resume.add_argument("--templates", action="append", default=[], metavar="DIR")


def _resend_options(resend: argparse.ArgumentParser) -> None:
    _store_options(resend)
    resend.add_argument("--run", default=None, help="only this run")
    resend.add_argument("--since", default=None, metavar="TIME", help="only those that failed since TIME (or 1h ago)")
    resend.add_argument("--target", default=None, metavar="NAME", help="only this target's")
    resend.add_argument(
        "deliveries", nargs="*", type=int, metavar="DELIVERY", help="delivery ids (default: all failed)"
    )
    resend.add_argument("--secret", default=None)
    resend.add_argument("--json", action="store_true")
    resend.add_argument("--templates", action="append", default=[], metavar="DIR")


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1", help="address (default: loopback only)")
    serve.add_argument("--port", type=int, default=8025, help="port (default 8025; 0 picks a free one)")
    serve.add_argument("--db", default=None, metavar="PATH", help=f"SQLite store (default: {DEFAULT_DB})")
    serve.add_argument("--config", default=os.environ.get("IDP_EMULATOR_CONFIG"), metavar="FILE")
    serve.add_argument("--token", default=os.environ.get("IDP_EMULATOR_TOKEN"), help="require Bearer TOKEN on /api/")
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the server answers for besides localhost and IP addresses (a proxy's, say); repeatable",
    )
    serve.add_argument(
        "--max-actions", type=int, default=None, metavar="N", help="actions one run may play (default 1,000,000)"
    )
    serve.add_argument(
        "--insecure", action="store_true", help="listen beyond loopback without --token (anyone who can reach it)"
    )


def _listen_options(listen: argparse.ArgumentParser) -> None:
    listen.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    listen.add_argument("--port", type=int, default=8026, help="port (default 8026; 0 picks a free one)")
    listen.add_argument("--vendor", default=None, help="read and check webhooks as this vendor's")
    listen.add_argument("--secret", default=os.environ.get("IDP_EMULATOR_SECRET"), help="secret to check signatures")
    listen.add_argument("--signing", default=None, metavar="SCHEME", help=_schemes_help())
    listen.add_argument("--respond", default=None, metavar="500,500,200", help="answers per event, then 200")
    listen.add_argument("--forward-to", default=None, metavar="URL", help="forward each webhook to your app")
    listen.add_argument("--print-body", action="store_true", help="print each body, indented")
    listen.add_argument("--templates", action="append", default=[], metavar="DIR")


def _schema_options(schema: argparse.ArgumentParser) -> None:
    schema.add_argument("--config", action="store_true", help="the schema of emulator.yaml instead")
    schema.add_argument("--output", "-o", default=None, help="write to a file instead")


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, metavar="PATH", help=f"SQLite store (default: {DEFAULT_DB}; ':memory:')")
    parser.add_argument("--config", default=os.environ.get("IDP_EMULATOR_CONFIG"), metavar="FILE", help="emulator.yaml")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        metavar="X",
        help="real seconds per scenario second for every wait (0.001: a 2 h retry schedule in 7.2 s; default 1)",
    )


def _warning(message: Warning | str, category: type[Warning], *rest: object, **more: object) -> None:
    """A library's warning as one line of ours, never a source line and a traceback-like report."""
    print(f"warning: {str(message).splitlines()[0]}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    warnings.showwarning = _warning
    # PyJWT's short-key warning, at every signature: the target's notice says it once, before the run
    warnings.filterwarnings("ignore", module=r"jwt\.")
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)
    args = _parser(command if command in _COMMANDS else None).parse_args(words)
    try:
        return _COMMANDS[args.command](args)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _seed_and_start(args: argparse.Namespace) -> tuple[int, Any]:
    from emulator.play.clock import parse_start

    seed = args.seed
    start = None
    if args.start:
        try:
            start = parse_start(args.start)
        except (ValueError, OverflowError):
            raise Problem(
                f"--start: expected an ISO 8601 time such as 2026-01-01T00:00:00Z or 'now', got {args.start!r}"
            ) from None
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
        if start is None:
            start = parse_start("now")
        print(f"seed {seed} (pass --seed {seed} to repeat this run)", file=sys.stderr)
    return seed, start


def cmd_render(args: argparse.Namespace) -> int:
    from emulator.collector import streaming
    from emulator.overrides import parse_overrides
    from emulator.render import load, render_events
    from emulator.vendors.registry import Registry

    registry = Registry(args.templates)
    registry.vendor(args.vendor)  # unknown vendor: say so before loading anything else
    scenario = load(args.scenario)
    seed, start = _seed_and_start(args)
    overrides = parse_overrides(args.sets, args.unsets)
    events = render_events(scenario, args.vendor, seed, start, registry, overrides)
    with streaming():
        write_events(events, sys.stdout, pretty=args.pretty, body_only=args.body_only)
    return 0


def write_events(events: Iterable[Any], out: TextIO, pretty: bool = False, body_only: bool = False) -> int:
    """Stream events as JSON Lines (or indented JSON); returns how many were written."""
    from emulator.vendors.encoding import event_json

    count = 0
    iterator = iter(events)
    while True:
        chunk = list(islice(iterator, 512))
        if not chunk:
            break
        lines = [event_json(e.body if body_only else e.record(), e.vendor, e.type) for e in chunk]
        if pretty:  # the same checks, then indented for people
            text = "".join(json.dumps(json.loads(line), ensure_ascii=False, indent=2) + "\n" for line in lines)
        else:
            text = b"\n".join(lines).decode() + "\n"
        out.write(text)
        count += len(chunk)
    out.flush()
    return count


def cmd_validate(args: argparse.Namespace) -> int:
    from emulator.scenario.loader import load_scenario_file
    from emulator.vendors.registry import Registry

    registry = Registry(args.templates)
    files: list[Path] = []
    problems: list[str] = []
    for raw in args.paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{raw}: no such file or folder")
    for file in files:
        try:
            scenario = load_scenario_file(file)
            _dry_run(scenario, registry)
        except ScenarioError as exc:
            problems.extend(str(p) for p in exc.problems)
        except EmulatorError as exc:
            problems.append(str(exc))
    for line in problems:
        print(line)
    if problems:
        return 1
    print(f"{len(files)} scenario file{'s' if len(files) != 1 else ''} valid", file=sys.stderr)
    return 0


def _dry_run(scenario: Any, registry: Registry) -> None:
    """Play the scenario (bounded) so problems only playing finds are reported too."""
    from emulator.play.player import Player
    from emulator.vendors.dialect import Dialect

    dialects: dict[str, Dialect] = {}
    for occ in Player(scenario, seed=0, step_limit=VALIDATE_PLAY_LIMIT).occurrences():
        if occ.action == "emit":
            vendor = occ.context["params"]["vendor"]
            try:
                dialect = dialects.setdefault(vendor, Dialect(registry.vendor(vendor), 0))
            except EmulatorError as exc:
                raise Problem(str(exc).removeprefix("error: "), occ.location) from None
            dialect.events(occ)


def cmd_catalog(args: argparse.Namespace) -> int:
    from emulator.vendors.overview import catalog_data, print_catalog
    from emulator.vendors.registry import Registry

    registry = Registry(args.templates)
    if args.schema is not None:
        json.dump(_event_schema(registry, args.schema), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    data = catalog_data(registry, args.vendor, with_examples=args.examples)
    from emulator.delivery.targets import delivery_facts

    for vendor in data["vendors"]:
        vendor["delivery"] = delivery_facts(registry, vendor["vendor"])
    if args.json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_catalog(data, sys.stdout)
    return 0


def _event_schema(registry: Registry, spec: str) -> dict[str, Any]:
    """``VENDOR`` (every event type's schema, by type) or ``VENDOR:TYPE`` (one; a type may hold ':')."""
    from emulator.vendors.schema import event_schema, event_schemas

    name, _, event_type = spec.partition(":")
    vendor = registry.vendor(name)
    return event_schema(vendor, event_type) if event_type else event_schemas(vendor)


def cmd_list(args: argparse.Namespace) -> int:
    from emulator.scenario.bundled import bundled_names, resolve_scenario
    from emulator.scenario.loader import load_scenario_file

    for name in bundled_names():
        scenario = load_scenario_file(resolve_scenario(name))
        print(f"{name:<18} {scenario.description.strip().splitlines()[0] if scenario.description else ''}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    if args.config:
        from emulator.delivery.config_schema import config_schema_document

        document = config_schema_document()
    else:
        from emulator.scenario.schema import scenario_schema

        document = scenario_schema()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, "utf-8")
        except OSError as exc:
            raise Problem(f"{args.output}: cannot write ({exc.strerror})") from None
    else:
        sys.stdout.write(text)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from emulator.delivery.commands import run_command

    return run_command(args)


def cmd_load(args: argparse.Namespace) -> int:
    from emulator.load.command import load_command

    return load_command(args)


def cmd_resume(args: argparse.Namespace) -> int:
    from emulator.delivery.commands import resume_command

    return resume_command(args)


def cmd_resend(args: argparse.Namespace) -> int:
    from emulator.delivery.commands import resend_command

    return resend_command(args)


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from emulator.server.serve import serve

    return asyncio.run(serve(args, DEFAULT_DB))


def cmd_listen(args: argparse.Namespace) -> int:
    import asyncio

    from emulator.testing.listen import listen

    return asyncio.run(listen(args))


_COMMANDS = {
    "serve": cmd_serve,
    "listen": cmd_listen,
    "run": cmd_run,
    "load": cmd_load,
    "resume": cmd_resume,
    "resend": cmd_resend,
    "render": cmd_render,
    "validate": cmd_validate,
    "catalog": cmd_catalog,
    "list": cmd_list,
    "schema": cmd_schema,
}


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
