"""Targets: where a vendor's events go and how they travel there.

A target is written as a small mapping (an entry of ``emulator.yaml``'s ``targets``, or built
from command-line flags). Anything it leaves out comes from its vendor's catalog (``delivery``:
signing scheme, timeouts, retry policy), so a bare URL already behaves like the real product.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import os
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from emulator import __version__
from emulator.delivery.batching import MAX_BATCH
from emulator.delivery.faults import Fault, FaultError, parse_faults
from emulator.delivery.framing import BATCHING, FRAMINGS
from emulator.delivery.redact import SENSITIVE_NAME
from emulator.delivery.retry import PolicyError, RetryPolicy, policy_from_spec, preset, preset_names
from emulator.delivery.signing import SCHEMES, Signing, SigningError, public_keys, scheme
from emulator.delivery.tls import NO_VERIFY_NOTICE, TlsError, TlsSettings, client_context, parse_tls
from emulator.delivery.verification import Verification, parse_verification
from emulator.errors import EmulatorError, Location, Problem, UnknownNameError
from emulator.scenario.durations import parse_duration
from emulator.vendors.registry import Registry
from emulator.vendors.versions import vendor_spec

HIDDEN = "<hidden>"
DEFAULT_CONCURRENCY = 8
# Each choice a target offers, once, with what it means (the schema, the CLI and the docs read these).
ORDERINGS = {
    "actor": "one actor's events arrive in order, each waiting for the previous to finish (default)",
    "unordered": "as they come",
}
SIGNED_TIMES = {
    "now": "the attempt's wall-clock time (default: what consumers check a tolerance such as 5 minutes against)",
    "scenario": "the attempt's scenario time (byte-identical headers for a seed and start; a compressed retry "
    "schedule still shows its real spacing)",
}
USER_AGENT = f"idp-emulator/{__version__}"
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEME_WORD = re.compile(r"\s*(?:[A-Za-z]{1,16}\s+)?")
# header names whose values are credentials: kept out of the store unless they come from ${VARIABLE}

Where = Callable[[tuple[str | int, ...]], Location | None]


def nowhere(path: tuple[str | int, ...]) -> Location | None:
    return None


@dataclass(frozen=True)
class Target:
    """One webhook destination with everything resolved (secrets included, in memory only)."""

    name: str
    url: str
    vendor: str
    signing: Signing
    headers: dict[str, str] = field(repr=False)  # may carry credentials
    events: tuple[str, ...]
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    retry: RetryPolicy
    # the retries a webhook gets after its transaction held (FusionAuth's 3 more); None: ``retry``
    transaction_retry: RetryPolicy | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    ordering: str = "actor"
    faults: tuple[Fault, ...] = ()
    disable_after: int = 0  # failed deliveries in a row that disable the target (0: never)
    disable_on_gone: bool = True  # a 410 Gone answer disables the target (Standard Webhooks)
    disabled: str = ""  # set when a resumed run had disabled it
    signed_time: str = "now"  # or "scenario": the attempt's scenario time, for byte-identical headers
    notice: str = ""  # something the user should know (sent unsigned, ...), printed once per run
    tls: TlsSettings = field(default_factory=TlsSettings)  # as written: CA file, verify, client certificate
    # made from ``tls`` once, when the target is built (None for http://): every connection reuses it
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    stored: dict[str, Any] = field(default_factory=dict, repr=False)  # the spec as the store keeps it
    verification: Verification | None = None  # a one-time challenge before the first delivery (Okta)
    framing: str = "object"  # how a request's body holds its event (FRAMINGS: Auth0's JSON Lines)
    batch_size: int = 1  # events one request carries at most (emulator.delivery.batching)
    batch_linger: float = 0.0  # seconds a batch's first event may wait for more (scenario seconds)
    batch_into: str = ""  # where the vendor's one JSON object lists its events (Okta's data.events)
    _match: Callable[[str], Any] | None = field(default=None, repr=False, compare=False)

    def wants(self, event_type: str) -> bool:
        """Whether this target subscribes to ``event_type`` (its ``events`` globs)."""
        return self._match is None or self._match(event_type) is not None


def vendor_delivery(registry: Registry, vendor: str) -> dict[str, Any]:
    """A vendor release's delivery defaults from its catalog (``like: other`` borrows another
    vendor's, at the same release: Flip on Keycloak 25 delivers as Keycloak 25's webhook does)."""
    dialect = registry.vendor(vendor)
    data = dict(dialect.delivery)
    seen = {dialect.name}
    while "like" in data:
        other = str(data.pop("like"))
        if other in seen:
            raise Problem(f"vendor {vendor!r}: delivery 'like' loops through {other!r}")
        seen.add(other)
        spec = other if dialect.key == dialect.name else f"{other}@{dialect.version}"
        data = {**registry.vendor(spec).delivery, **{k: v for k, v in data.items() if k != "note"}}
    return data


def substitute_env(
    value: Any, where: Where, path: tuple[str | int, ...] = (), env: Mapping[str, str] | None = None
) -> Any:
    """Replace ``${VARIABLE}`` in every string; a variable that is not set is an error at its place."""
    env = os.environ if env is None else env
    if isinstance(value, dict):
        return {k: substitute_env(v, where, (*path, k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, where, (*path, i), env) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise Problem(f"{_dotted(path)}: environment variable {name} is not set", where(path))
            return env[name]

        return _ENV.sub(lookup, value)
    return value


def secret_values(spec: Any) -> list[str]:
    """Every secret a target spec holds, as written and as its ``${VARIABLE}`` reads: what a message
    about the spec must never quote (the same fields ``stored_spec`` keeps out of the store)."""
    if not isinstance(spec, dict):
        return []
    found: list[Any] = []

    def part(key: str) -> dict[str, Any]:
        value = spec.get(key)
        return value if isinstance(value, dict) else {}

    signing = part("signing")
    secret = signing.get("secret")
    found += secret if isinstance(secret, list) else [secret, signing.get("value")]
    auth = part("basic_auth")
    found.append(auth.get("password"))
    if isinstance(auth.get("username"), str) and isinstance(auth.get("password"), str):
        found.append("Basic " + base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode())
    found += [v for k, v in part("headers").items() if SENSITIVE_NAME.search(str(k))]
    faults = spec.get("faults")
    for fault in faults if isinstance(faults, list) else []:  # a bad spec is reported after this, not here
        if isinstance(fault, dict) and isinstance(fault.get("rotation"), dict):
            found.append(fault["rotation"].get("previous"))
    if isinstance(spec.get("url"), str) and "?" in spec["url"]:
        with contextlib.suppress(ValueError, TypeError):
            found += list(URL(spec["url"]).query.values())
    texts = [str(v) for v in found if isinstance(v, str | int | float) and not isinstance(v, bool) and v != ""]
    return texts + [os.environ.get(name, "") for text in texts for name in _ENV.findall(text)]


def target_secrets(target: Target) -> list[str]:
    """The credentials a built target sends (its signing secrets and value, headers named like
    credentials, basic auth among them, and its URL's query values): what nothing may show."""
    found = [*target.signing.secrets, target.signing.value]
    found += [v for k, v in target.headers.items() if SENSITIVE_NAME.search(k)]
    with contextlib.suppress(ValueError, TypeError):
        found += URL(target.url).query.values()
    return found


def stored_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as the store may keep it: credentials only as ``${VARIABLE}`` references."""

    def keep(value: Any) -> Any:
        if isinstance(value, list):
            return [keep(v) for v in value]
        # a reference, alone or after a scheme word ("Bearer ${TOKEN}"), holds no secret itself
        if isinstance(value, str) and _ENV.search(value) and _SCHEME_WORD.fullmatch(_ENV.sub("", value)):
            return value
        return HIDDEN

    out = {k: v for k, v in spec.items()}
    if isinstance(out.get("signing"), dict):
        signing = dict(out["signing"])
        for key in ("secret", "value"):
            if key in signing:
                signing[key] = keep(signing[key])
        out["signing"] = signing
    if isinstance(out.get("basic_auth"), dict):
        out["basic_auth"] = {**out["basic_auth"], "password": keep(out["basic_auth"].get("password", ""))}
    if isinstance(out.get("headers"), dict):
        out["headers"] = {k: keep(v) if SENSITIVE_NAME.search(k) else v for k, v in out["headers"].items()}
    if isinstance(out.get("faults"), list):  # a previous secret for the rotation fault is a secret too
        out["faults"] = [
            {"rotation": {**f["rotation"], "previous": keep(f["rotation"].get("previous", ""))}}
            if isinstance(f, dict) and isinstance(f.get("rotation"), dict)
            else f
            for f in out["faults"]
        ]
    url = out.get("url")
    if isinstance(url, str) and "?" in url and not _ENV.search(url):
        try:
            query: Mapping[str, str] = URL(url).query
        except (ValueError, TypeError):
            query = {}
        if any(SENSITIVE_NAME.search(k) for k in query):
            out["url"] = HIDDEN  # a token in the query string is a credential too
    return out


def hidden_fields(spec: Any, path: str = "") -> list[str]:
    """Where a stored spec still lacks a credential (it was given literally, so it was not stored)."""
    if isinstance(spec, dict):
        return [f for k, v in spec.items() for f in hidden_fields(v, f"{path}.{k}" if path else k)]
    if isinstance(spec, list):
        return [f for i, v in enumerate(spec) for f in hidden_fields(v, f"{path}[{i}]")]
    return [path] if spec == HIDDEN else []


def build_target(
    spec: dict[str, Any],
    registry: Registry,
    default_vendor: str | None = None,
    where: Where = nowhere,
    env: Mapping[str, str] | None = None,
) -> Target:
    """A target from its written form: vendor defaults first, then what the spec says."""
    raw = spec
    spec = substitute_env(spec, where, (), env)
    name = spec.get("name") or "target"

    def fail(message: str, *path: str | int) -> Problem:
        return Problem(f"target {name!r}: {message}", where(path))

    url = _check_url(spec.get("url"), fail)
    try:
        vendor = vendor_spec(spec.get("vendor")) or default_vendor
    except EmulatorError as exc:
        raise fail(str(exc), "vendor") from None
    if not vendor:
        raise fail("no vendor: give the target a 'vendor' or pass --vendor", "url")
    try:
        defaults = vendor_delivery(registry, vendor)
    except UnknownNameError as exc:
        raise fail(exc.message, "vendor") from None
    except EmulatorError as exc:
        raise fail(str(exc), "vendor") from None

    signing = _signing(spec.get("signing"), defaults.get("signing") or {}, fail)
    timeouts = {**(defaults.get("timeouts") or {}), **(spec.get("timeouts") or {})}
    connect = _duration(timeouts.get("connect", "10s"), fail, "timeouts", "connect")
    read = _duration(timeouts.get("read", "30s"), fail, "timeouts", "read")
    total = _duration(timeouts.get("total", connect + 2 * read), fail, "timeouts", "total")
    retry = _retry(spec.get("retry", "vendor"), vendor, registry, defaults, fail)
    transaction_retry = None
    if "retry" not in spec and (defaults.get("transactions") or {}).get("retry"):
        try:
            transaction_retry = policy_from_spec(defaults["transactions"]["retry"], vendor)
        except PolicyError as exc:
            raise fail(f"transactions.retry: {exc}") from None
    tls, ssl_context = _tls(spec.get("tls"), url, fail)

    headers = {"User-Agent": USER_AGENT, **(defaults.get("headers") or {}), **(spec.get("headers") or {})}
    for key, value in headers.items():
        problem = header_problem(key, value)
        if problem:
            raise fail(f"header {key!r}: {problem}", "headers", key)
    if signing.scheme == "header":
        problem = header_problem(signing.header, signing.value)
        if problem:
            raise fail(f"signing header {signing.header!r}: {problem}", "signing")
    auth = spec.get("basic_auth")
    if auth:
        pair = f"{auth.get('username', '')}:{auth.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()

    events = tuple(spec.get("events") or ())
    match = re.compile("|".join(fnmatch.translate(g) for g in events)).match if events else None
    ordering = spec.get("ordering", "actor")
    if ordering not in ORDERINGS:
        raise fail(f"ordering: expected one of {', '.join(ORDERINGS)}, got {ordering!r}", "ordering")
    try:
        faults = parse_faults(spec.get("faults"))
    except FaultError as exc:
        raise fail(str(exc), "faults") from None
    disable_after = spec.get("disable_after", defaults.get("disable_after", 0))
    if isinstance(disable_after, bool) or not isinstance(disable_after, int) or not 0 <= disable_after <= 1_000_000:
        raise fail(
            f"disable_after: a whole number of failed deliveries in a row (0: never), got {disable_after!r}",
            "disable_after",
        )
    disable_on_gone = spec.get("disable_on_gone", defaults.get("disable_on_gone", True))
    if not isinstance(disable_on_gone, bool):
        raise fail(f"disable_on_gone: true or false, got {disable_on_gone!r}", "disable_on_gone")
    framing = spec.get("format", defaults.get("format", "object"))
    if framing not in FRAMINGS:
        raise fail(f"format: expected one of {', '.join(FRAMINGS)}, got {framing!r}", "format")
    batch_size, batch_linger, batch_into = _batch(spec, defaults, framing, fail)
    signed_time = spec.get("signed_time", "now")
    if signed_time not in SIGNED_TIMES:
        raise fail(f"signed_time: expected one of {', '.join(SIGNED_TIMES)}, got {signed_time!r}", "signed_time")
    concurrency = spec.get("concurrency", DEFAULT_CONCURRENCY)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 1000:
        raise fail(f"concurrency: expected a whole number from 1 to 1000, got {concurrency!r}", "concurrency")
    return Target(
        name=name,
        url=url,
        vendor=vendor,
        signing=signing,
        headers=headers,
        events=events,
        connect_timeout=connect,
        read_timeout=read,
        total_timeout=total,
        retry=retry,
        transaction_retry=transaction_retry,
        concurrency=concurrency,
        ordering=ordering,
        signed_time=signed_time,
        faults=faults,
        disable_after=disable_after,
        disable_on_gone=disable_on_gone,
        disabled=str(spec.get("disabled") or ""),
        notice="; ".join(
            n
            for n in (signing.extra.get("unsigned", ""), _advice(signing), "" if tls.verify else NO_VERIFY_NOTICE)
            if n
        ),
        tls=tls,
        ssl_context=ssl_context,
        stored=stored_spec({**raw, "vendor": vendor}),
        verification=_verification(defaults.get("verification"), fail),
        framing=framing,
        batch_size=batch_size,
        batch_linger=batch_linger,
        batch_into=batch_into,
        _match=match,
    )


_FRAMING = {"content-length", "transfer-encoding", "host", "connection", "content-type"}


def header_problem(name: str, value: str) -> str | None:
    """Why a header cannot be sent as given (None when it can): no injected lines, no framing."""
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name or ""):
        return "a header name is letters, digits and - (no spaces or colons)"
    if name.lower() in _FRAMING:
        return "the sender writes this header itself"
    if any(c in value for c in "\r\n\0"):
        return "a header value must be a single line"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "a header value must be Latin-1 text (HTTP/1.1); percent-encode or base64 anything else"
    return None


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "value"


def _check_url(value: Any, fail: Callable[..., Problem]) -> str:
    if not isinstance(value, str) or not value:
        raise fail("needs a url such as http://localhost:8000/webhooks", "url")
    try:
        url = URL(value)
        host = url.host
    except (ValueError, TypeError) as exc:  # UnicodeError, for a host that is not valid IDNA, is one
        raise fail(f"url {value!r} is not a URL ({exc})", "url") from None
    if url.scheme not in ("http", "https") or not host:
        raise fail(f"url {value!r}: expected http:// or https:// with a host", "url")
    if url.user is not None or url.password is not None:
        raise fail("url: credentials in a URL would be stored with it; use basic_auth with ${VARIABLE}", "url")
    if url.port == 0:
        raise fail("url: port 0 cannot be connected to", "url")
    if any(len(label) > 63 for label in (url.raw_host or "").split(".")) or len(url.raw_host or "") > 253:
        raise fail("url: the host name is too long for DNS (63 characters per label, 253 in all)", "url")
    if any(c in value for c in " \r\n\t"):
        raise fail(f"url {value!r}: spaces and line breaks must be percent-encoded", "url")
    return value


def _duration(value: Any, fail: Callable[..., Problem], *path: str) -> float:
    try:
        seconds = parse_duration(value).total_seconds()
    except ValueError as exc:
        raise fail(f"{'.'.join(path)}: {exc}", *path) from None
    if seconds <= 0:
        raise fail(f"{'.'.join(path)}: must be more than zero", *path)
    return seconds


def _batch(
    spec: dict[str, Any], defaults: dict[str, Any], framing: str, fail: Callable[..., Problem]
) -> tuple[int, float, str]:
    """Events per request, the linger and the vendor's list of events in one object (``into``), from
    the target's ``batch`` over its vendor's: one event per request when neither batches, or when
    the framing holds one event (``object``) and the vendor's object has no list of events."""
    vendor = dict(defaults.get("batch") or {})
    into = str(vendor.pop("into", "") or "")
    into = into if framing == "object" else ""  # in a JSON array or JSON Lines, each event is one item
    given = spec.get("batch")
    if given is None:
        if (framing not in BATCHING and not into) or not vendor:
            return 1, 0.0, ""
        given = vendor
    elif framing not in BATCHING and not into:
        raise fail(
            f"batch: format {framing!r} sends one event per request; a batch needs format "
            f"{' or '.join(repr(f) for f in BATCHING)}",
            "batch",
        )
    if not isinstance(given, dict):
        raise fail(f"batch: expected a mapping such as {{size: 100, linger: 1s}}, got {given!r}", "batch")
    given = {**vendor, **given}  # what the target leaves out is the vendor's
    unknown = [k for k in given if k not in ("size", "linger")]
    if unknown:
        raise fail(f"batch: unknown key {unknown[0]!r}; expected one of: size, linger", "batch", str(unknown[0]))
    size = given.get("size", 1)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH:
        raise fail(f"batch.size: expected a whole number from 1 to {MAX_BATCH}, got {size!r}", "batch", "size")
    linger = 0.0
    if "linger" in given:
        try:
            linger = parse_duration(given["linger"]).total_seconds()
        except ValueError as exc:
            raise fail(f"batch.linger: {exc}", "batch", "linger") from None
    return size, linger, into


def _verification(spec: Any, fail: Callable[..., Problem]) -> Verification | None:
    try:
        return parse_verification(spec, "delivery")
    except Problem as exc:
        raise fail(exc.message) from None


def _tls(spec: Any, url: str, fail: Callable[..., Problem]) -> tuple[TlsSettings, ssl.SSLContext | None]:
    """The target's TLS settings and the context made from them, its files read now (not per attempt)."""
    try:
        settings = parse_tls(spec)
        if URL(url).scheme != "https":
            if not settings.default:
                raise fail("tls: the url is http://, so these settings would do nothing; use https://", "tls")
            return settings, None
        return settings, client_context(settings)
    except TlsError as exc:
        raise fail(str(exc), "tls", *exc.key) from None


def _signing(spec: Any, defaults: dict[str, Any], fail: Callable[..., Problem]) -> Signing:
    spec = spec or {}
    name = spec.get("scheme") or defaults.get("scheme") or "none"
    if name not in SCHEMES:
        raise UnknownNameError("signing scheme", name, SCHEMES)
    kind = scheme(name)
    # the vendor's algorithm or header belongs to the vendor's scheme only
    base = defaults if name == defaults.get("scheme") else {}
    secret = spec.get("secret")
    secrets = tuple(secret) if isinstance(secret, list) else ((secret,) if secret else ())
    value = spec.get("value", "")
    if not spec.get("scheme") and not secrets and not value and kind.signs:
        # the vendor's scheme needs a secret nobody gave: send unsigned rather than refuse to run
        return Signing("none", extra={"unsigned": f"{name} needs a secret; sending unsigned"})
    try:
        implied = kind.key_defaults(secrets) if kind.key_defaults is not None else {}
        signing = Signing(
            scheme=name,
            secrets=secrets,
            algorithm=str(spec.get("algorithm") or implied.get("algorithm") or base.get("algorithm") or ""),
            key_id=str(spec.get("key_id") or base.get("key_id") or implied.get("key_id") or ""),
            header=str(spec.get("header") or base.get("header") or ""),
            value=str(value or (secrets[0] if name == "header" and secrets else "")),
            extra={
                option: spec.get(option, base.get(option))
                for option in kind.options
                if option in spec or option in base
            },
        )
    except SigningError as exc:
        raise fail(str(exc), "signing") from None
    for part, text in (("key_id", signing.key_id), ("header", signing.header), ("algorithm", signing.algorithm)):
        problem = header_problem("X", text) if text else None  # these go into request headers
        if problem:
            raise fail(f"signing.{part}: {problem}", "signing", part)
    return signing


def _retry(
    spec: Any, vendor: str, registry: Registry, defaults: dict[str, Any], fail: Callable[..., Problem]
) -> RetryPolicy:
    try:
        if isinstance(spec, dict):
            return policy_from_spec(spec)
        if spec in (None, "vendor"):
            return policy_from_spec(_vendor_retry(defaults), vendor)
        if not isinstance(spec, str):
            raise PolicyError("expected 'vendor', a preset name, or a policy mapping")
        known = preset(spec) or vendor_presets(registry).get(spec)
        if known is not None:
            return policy_from_spec(known, spec)
        if spec in registry.names:
            return policy_from_spec(_vendor_retry(vendor_delivery(registry, spec)), spec)
        choices = ("vendor", *preset_names(), *vendor_presets(registry), *registry.names)
        raise UnknownNameError("retry preset", spec, choices)
    except PolicyError as exc:
        raise fail(f"retry: {exc}", "retry") from None
    except UnknownNameError as exc:
        raise fail(f"retry: {exc.message}", "retry") from None


def vendor_presets(registry: Registry) -> dict[str, dict[str, Any]]:
    """Retry presets vendors name in their catalogs (``delivery.presets``): a behaviour of ours
    offered beside the vendor's own, such as ``keycloak-strict``."""
    found: dict[str, dict[str, Any]] = {}
    for name in registry.names:
        for preset_name, spec in (registry.vendor(name).delivery.get("presets") or {}).items():
            found.setdefault(str(preset_name), dict(spec))
    return found


def _vendor_retry(defaults: dict[str, Any]) -> dict[str, Any]:
    return dict(defaults.get("retry") or {"attempts": 1})


def _advice(signing: Signing) -> str:
    """What the signing scheme says a user should know of this configuration (a short HMAC key)."""
    hook = scheme(signing.scheme).advice
    return hook(signing) if hook is not None else ""


def delivery_facts(registry: Registry, vendor: str) -> dict[str, str]:
    """How the vendor delivers by default, in words (what ``catalog`` shows beside its events)."""
    target = build_target({"name": "facts", "url": "http://127.0.0.1:9/", "vendor": vendor}, registry)
    defaults = vendor_delivery(registry, vendor)
    signing = dict(defaults.get("signing") or {"scheme": "none"})
    algorithm = f" ({signing['algorithm']})" if signing.get("algorithm") else ""
    facts = {
        "signing": f"{signing.get('scheme', 'none')}{algorithm}: {scheme(signing.get('scheme', 'none')).summary}",
        "timeouts": f"connect {target.connect_timeout:g} s, read {target.read_timeout:g} s,"
        f" {target.total_timeout:g} s in all",
        "retries": target.retry.describe(),
    }
    if target.batch_size > 1:
        facts["batching"] = (
            f"up to {target.batch_size} events per request ({target.batch_into or target.framing}), sent when that"
            f" many wait or the first has waited {target.batch_linger:g} s"
        )
    if defaults.get("note"):
        facts["note"] = " ".join(str(defaults["note"]).split())
    return facts


def signing_keys(targets: list[Target]) -> list[dict[str, Any]]:
    """The public halves of the asymmetric keys the targets sign with (HMAC secrets stay secret)."""
    keys: dict[str, dict[str, Any]] = {}
    for target in targets:
        for jwk in public_keys(target.signing):
            keys[str(jwk["kid"])] = jwk
    return list(keys.values())
