"""Saved targets: webhook destinations a running emulator keeps by name, like a vendor's webhook settings.

They come from the ``--config`` file (read-only here) or from the API (kept in the store).
Secrets are write-only: a view shows ``<hidden>`` or the ``${VARIABLE}`` a secret comes from.
A secret given literally lives in memory only (the store never holds one), so after a restart
such a target says which secret it needs until it is given again.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from yarl import URL

from emulator.delivery.config import Config, target_problems
from emulator.delivery.redact import Redactor
from emulator.delivery.targets import (
    HIDDEN,
    Target,
    build_target,
    hidden_fields,
    secret_values,
    signing_keys,
    stored_spec,
)
from emulator.delivery.tls import FILE_KEYS
from emulator.errors import ConflictError, EmulatorError, ForbiddenError, InvalidError, NotFoundError
from emulator.server.problems import MAX_DEPTH, depth
from emulator.store import Store, now_ms
from emulator.vendors.registry import Registry
from emulator.vendors.versions import vendor_spec

TARGET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # as in emulator.yaml
API_VARIABLES = "IDP_EMULATOR_"  # the only environment variables a spec sent over the API may read
# ... except the emulator's own settings: the API token and the command line's signing secret
OWN_SETTINGS = frozenset({"IDP_EMULATOR_TOKEN", "IDP_EMULATOR_SECRET", "IDP_EMULATOR_CONFIG"})
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class SavedTarget:
    name: str
    spec: dict[str, Any]  # as written, literal secrets included: in memory only
    source: str  # "config" (the --config file) or "api"
    created_ms: int
    updated_ms: int

    def view(self) -> dict[str, Any]:
        """What the API shows: the configuration with every secret hidden, and what is missing."""
        shown = stored_spec(self.spec)
        return {
            "name": self.name,
            "url": shown.get("url"),
            "vendor": shown.get("vendor"),
            "source": self.source,
            "config": shown,
            "needs": hidden_fields(self.spec),
            "created": self.created_ms,
            "updated": self.updated_ms,
        }


class SavedTargets:
    """The targets a server keeps by name; runs and target tests name them."""

    def __init__(
        self, store: Store, registry: Registry, config: Config | None = None, token: str | None = None
    ) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.token = token
        self.items: dict[str, SavedTarget] = {}
        for saved in store.saved_targets():
            name = saved["name"]
            self.items[name] = SavedTarget(name, saved["config"], "api", saved["created_ms"], saved["updated_ms"])
        stamp = now_ms()
        for spec in config.targets if config else []:  # the file wins over what the API saved
            name = str(spec.get("name") or "")
            if name:
                self.items[name] = SavedTarget(name, dict(spec), "config", stamp, stamp)

    def names(self, vendor: str | None = None) -> list[str]:
        """Every saved target, or those that take ``vendor``'s webhooks (a target naming none takes any)."""
        return [n for n, t in sorted(self.items.items()) if vendor is None or _vendor_of(t.spec) in (vendor, None)]

    def get(self, name: str) -> SavedTarget:
        saved = self.items.get(name)
        if saved is None:
            known = ", ".join(sorted(self.items)) or "none yet"
            raise NotFoundError("Unknown target", f"no target {name!r}; saved targets: {known}", "name")
        return saved

    def create(self, spec: Any) -> SavedTarget:
        if not isinstance(spec, dict):
            raise InvalidError("Wrong type", "a target is a JSON object", "")
        name = spec.get("name")
        if not isinstance(name, str) or not TARGET_NAME.fullmatch(name):
            rule = "letters, digits, '.', '_' or '-', at most 64"
            raise InvalidError("Bad name", f"a target needs a 'name': {rule}", "name")
        if name in self.items:
            raise ConflictError("Target exists", f"a target {name!r} exists; change it with PATCH", "name")
        self.check(spec)
        stamp = now_ms()
        saved = SavedTarget(name, spec, "api", stamp, stamp)
        self.store.save_target(name, stored_spec(spec))
        self.items[name] = saved
        return saved

    def update(self, name: str, patch: Any) -> SavedTarget:
        """Apply a JSON Merge Patch (RFC 7396): what the patch leaves out, secrets included, stays."""
        saved = self._changeable(name)
        if not isinstance(patch, dict):
            raise InvalidError("Wrong type", "a target change is a JSON object (a merge patch)", "")
        refuse_hidden(patch)
        if "name" in patch and patch["name"] != name:
            raise InvalidError("Name is fixed", "a target keeps its name; create a new one instead", "name")
        spec = merge_patch(saved.spec, patch)
        if _destination(spec) != _destination(saved.spec):
            kept = [p for p in hidden_fields(stored_spec(spec)) if p != "url" and not _given(patch, p)]
            if kept:
                raise InvalidError(
                    "Secrets needed",
                    f"this change sends {name!r} somewhere else or signs it another way; give {', '.join(kept)}"
                    " again in the same change (a secret goes only where it was given for)",
                    kept[0],
                )
        self.check(spec, stored=True)
        saved.spec, saved.updated_ms = spec, now_ms()
        self.store.save_target(name, stored_spec(spec))
        return saved

    def delete(self, name: str) -> None:
        self._changeable(name)
        self.store.delete_target(name)
        del self.items[name]

    def build(self, name: str, vendor: str | None = None) -> Target:
        """The target ready to send, or a problem saying what it lacks.

        A target without a vendor (the config file allows one) takes the run's.
        """
        saved = self.get(name)
        missing = hidden_fields(saved.spec)
        if missing:
            raise ConflictError(
                "Secret needed",
                f"target {name!r}: {', '.join(missing)} was given literally before a restart and is not kept on"
                " disk; give it again with PATCH, or use an ${IDP_EMULATOR_...} reference",
                "targets",
            )
        target_vendor = _vendor_of(saved.spec) or vendor
        if target_vendor is None:
            raise InvalidError("Vendor needed", f"target {name!r} names no vendor; give the run one", "vendor")
        if vendor is not None and target_vendor != vendor:
            raise InvalidError(
                "Other vendor", f"target {name!r} takes {target_vendor} webhooks, not {vendor}", "targets"
            )
        return self._build({**saved.spec, "vendor": target_vendor})

    def ready(self, name: str) -> Target | None:
        """The target if it can send now (its secrets are at hand and it names a vendor), else None."""
        saved = self.get(name)
        if hidden_fields(saved.spec) or not saved.spec.get("vendor"):
            return None
        return self._build(saved.spec)

    def check(self, spec: dict[str, Any], stored: bool = False) -> None:
        """Whether ``spec`` makes a working target (the same checks as a run's, keys included).

        A secret the server no longer holds (after a restart) is checked as a placeholder.
        """
        check_shape(spec, stored=stored, plaintext=self.config.plaintext_secrets if self.config else None)
        refuse_keys_without_token(spec, self.token)
        if not spec.get("vendor"):
            raise InvalidError("Vendor needed", f"give 'vendor', one of {', '.join(self.registry.names)}", "vendor")
        stand_in = _placeholders(spec)
        if spec.get("url") == HIDDEN:  # a URL carrying a token, given before a restart: still a URL
            stand_in["url"] = "http://placeholder.invalid/"
        self._build(stand_in)

    def _build(self, spec: dict[str, Any]) -> Target:
        return build_checked(spec, self.registry)

    def _changeable(self, name: str) -> SavedTarget:
        saved = self.get(name)
        if saved.source == "config":
            raise ConflictError("Defined in the config file", f"target {name!r} comes from --config; edit the file")
        return saved


def _vendor_of(spec: dict[str, Any]) -> str | None:
    """A saved target's vendor as one string (``fusionauth@1.45``), however it was written."""
    try:
        return vendor_spec(spec.get("vendor"))
    except EmulatorError:
        return None


def build_checked(spec: dict[str, Any], registry: Registry, vendor: str | None = None, where: str = "") -> Target:
    """``build_target`` for a spec from the API (a run's, at ``where``, or a saved one): every refusal
    a 422 naming the field, an asymmetric key included (it must make a public key for the JWKS)."""
    hide = Redactor(secret_values(spec)).text  # a message about a target never quotes its secrets
    try:
        target = build_target(spec, registry, vendor)
        signing_keys([target])
        return target
    except EmulatorError as exc:
        raise InvalidError("Invalid target", hide(str(exc)), where or _first_key(str(exc), spec)) from None
    except (ValueError, TypeError) as exc:  # a key the cryptography library cannot read
        detail = hide(f"target {spec.get('name')!r}: {exc}")
        raise InvalidError("Invalid target", detail, where or "signing") from None


def merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def check_shape(
    spec: Any, where: str = "", stored: bool = False, plaintext: Mapping[str, Sequence[str]] | None = None
) -> None:
    """A target sent over the API: the shape emulator.yaml's schema allows, and only allowed variables.

    ``stored``: the spec merges what the server kept, where a secret it no longer holds is <hidden>.
    ``plaintext``: the variables the config file lets such a target send as plain text, and where.
    """
    if depth(spec, MAX_DEPTH) > MAX_DEPTH:
        raise InvalidError("Nested too deeply", f"a target nests at most {MAX_DEPTH} levels", where)
    if not stored:
        refuse_hidden(spec, where)
    problems = target_problems(spec)
    if problems:
        path, message = problems[0]
        detail = Redactor(secret_values(spec)).text(message)  # the schema's message may quote a value
        raise InvalidError("Invalid target", detail, f"{where}.{path}" if where and path else where or path)
    refuse_files(spec, where)
    check_references(spec, where)
    check_plaintext(spec, plaintext or {}, where)


def _plaintext_positions(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, text) of every place whose text goes on the wire as it is: the URL, header values,
    basic auth, and the 'header' scheme's value (a signature's secret never leaves the machine)."""
    out: list[tuple[str, str]] = []
    if isinstance(spec.get("url"), str):
        out.append(("url", spec["url"]))
    for name, value in (spec.get("headers") or {}).items():
        if isinstance(value, str):
            out.append((f"headers.{name}", value))
    for key in ("username", "password"):
        value = (spec.get("basic_auth") or {}).get(key)
        if isinstance(value, str):
            out.append((f"basic_auth.{key}", value))
    signing = spec.get("signing") or {}
    if isinstance(signing, dict):
        if isinstance(signing.get("value"), str):
            out.append(("signing.value", signing["value"]))
        if signing.get("scheme") == "header":
            secrets = signing.get("secret")
            for i, secret in enumerate(secrets if isinstance(secrets, list) else [secrets]):
                if isinstance(secret, str):
                    out.append((f"signing.secret[{i}]" if isinstance(secrets, list) else "signing.secret", secret))
    return out


def check_plaintext(spec: dict[str, Any], plaintext: Mapping[str, Sequence[str]], where: str = "") -> None:
    """A variable sent as plain text goes only where the config file's ``plaintext_secrets`` says.

    A target made through the API names its own URL: a ``${IDP_EMULATOR_TOKEN_X}`` in one of its
    headers would otherwise hand that variable's value to whoever the caller chooses.
    """
    url = spec.get("url") if isinstance(spec.get("url"), str) else ""
    for path, text in _plaintext_positions(spec):
        for name in _REFERENCE.findall(text):
            allowed = plaintext.get(name, ())
            # the destination as written before any variable: a variable in the host cannot pick it
            fixed = str(url).split("${", 1)[0]
            if any(fixed.startswith(prefix) for prefix in allowed):
                continue
            where_to = f"; it may go to {', '.join(allowed)}" if allowed else ""
            raise InvalidError(
                "Secret sent in the clear",
                f"{path}: ${{{name}}} would be sent as plain text to {fixed or 'this URL'}{where_to}. A target made"
                f" through the API sends a variable in the clear only where the --config file's plaintext_secrets"
                f" lets it (plaintext_secrets: {{{name}: [{fixed or 'https://host/path/'}]}})",
                f"{where}.{path}" if where else path,
            )


def refuse_keys_without_token(spec: dict[str, Any], token: str | None, where: str = "") -> None:
    """A private key given literally through the API needs the server's token.

    Its public half is published at /.well-known/jwks.json, which consumers trust as FusionAuth's:
    a caller's own key there would let them sign webhooks the consumer accepts. A key read from the
    server's environment (``${IDP_EMULATOR_...}``) is the developer's own and is published as usual.
    """
    if token:
        return
    signing = spec.get("signing") if isinstance(spec.get("signing"), dict) else {}
    secrets = signing.get("secret") if isinstance(signing, dict) else None
    for secret in secrets if isinstance(secrets, list) else [secrets]:
        if isinstance(secret, str) and "-----BEGIN" in secret and not _REFERENCE.search(secret):
            raise ForbiddenError(
                "Token needed",
                "a private key given literally would be published in /.well-known/jwks.json for consumers to"
                " trust; start serve with --token to allow it, or give the key as ${IDP_EMULATOR_...}",
                f"{where}.signing.secret" if where else "signing.secret",
            )


def refuse_files(spec: dict[str, Any], where: str = "") -> None:
    """A target sent over the API names no file on the server's machine (tls.ca_file, client_cert, client_key).

    Who can call the API is not always who started the server: another process on the machine when
    no token is set, a tool given the token to start runs, a page that got past the cross-site checks.
    Naming files would let any of them have the emulator open any file it can read, learn from the
    errors which exist, and present the developer's own client certificate and key to any URL they
    choose. The --config file and the command line are the user's own word, so they may name files;
    through the API a target may still turn checks off (``verify: false``), which reads nothing.
    """
    tls = spec.get("tls")
    named = [k for k in FILE_KEYS if isinstance(tls, dict) and k in tls]
    if named:
        field = f"tls.{named[0]}"
        raise InvalidError(
            "Files only in the config file",
            f"{field}: a target sent through the API cannot name files on the server's machine; define this"
            " target in the --config file (or, for a development server with a self-signed certificate, use"
            " tls.verify: false)",
            f"{where}.{field}" if where else field,
        )


def refuse_hidden(value: Any, where: str = "") -> None:
    """``<hidden>`` is what the API shows for a secret; sent back, it would become the secret."""
    if HIDDEN in _strings(value):
        raise InvalidError("Not a secret", f"{HIDDEN!r} stands for a secret the API hides; give the secret", where)


def check_references(spec: Any, where: str = "", part: str = "a target") -> None:
    """A spec sent over the API reads only ``${IDP_EMULATOR_*}`` variables: other names could be
    anything in the server's environment, sent to whatever URL the spec names (or, for a client's
    secret, answered for by the token endpoint to whoever guesses it)."""
    for name in _REFERENCE.findall(json.dumps(spec)):
        if not name.startswith(API_VARIABLES) or name in OWN_SETTINGS:
            raise InvalidError(
                "Variable not allowed",
                f"${{{name}}}: through the API {part} reads only environment variables named {API_VARIABLES}*"
                f" (other than {', '.join(sorted(OWN_SETTINGS))}); put other references in the --config file",
                where,
            )
        if name not in os.environ:
            raise InvalidError("Variable not set", f"${{{name}}} is not set in the server's environment", where)


def _first_key(message: str, spec: dict[str, Any]) -> str:
    """The spec key a target problem is about (``target 'x': signing: ...`` -> signing)."""
    detail = message.split(": ", 1)[-1]
    key = detail.split(":", 1)[0].split(" ", 1)[0].split(".", 1)[0]
    return key if key in spec else ""


def _destination(spec: dict[str, Any]) -> tuple[Any, ...]:
    """Where and how a target sends (the URL without its query, the signing scheme): its secrets
    belong to this, and follow a change of it only when given again."""
    url = spec.get("url")
    try:
        parsed = URL(url) if isinstance(url, str) and url != HIDDEN else None
        origin = (parsed.scheme, parsed.raw_host, parsed.port, parsed.raw_path) if parsed is not None else url
    except (ValueError, TypeError):
        origin = url
    signing: dict[str, Any] = spec["signing"] if isinstance(spec.get("signing"), dict) else {}
    return origin, signing.get("scheme"), signing.get("header"), spec.get("vendor")


def _given(patch: Any, path: str) -> bool:
    """Whether a merge patch sets ``path`` (``signing.secret``, ``faults[0].rotation.previous``)."""
    node = patch
    for part in re.findall(r"[^.\[\]]+", path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return node is not None


def _placeholders(spec: Any) -> Any:
    """The spec with each secret the server no longer holds replaced by a stand-in, to check the rest."""
    if isinstance(spec, dict):
        return {k: _placeholders(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_placeholders(v) for v in spec]
    if spec == HIDDEN:
        return "placeholder-for-a-secret-not-held"
    return spec


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return {value} if isinstance(value, str) else set()


def secrets_for(stored: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any] | None:
    """A run's stored target with the secrets it lacks taken from a saved target, when the saved
    target still sends to the same place the same way; None when it does not, or lacks one too."""
    if stored.get("url") == HIDDEN:  # where it went is itself the secret: only the very same target will do
        return saved if stored_spec(saved) == stored else None
    if _destination(stored) != _destination(saved):
        return None

    def fill(node: Any, source: Any) -> Any:
        if node == HIDDEN:
            if not isinstance(source, str) or source == HIDDEN:
                raise LookupError
            return source
        if isinstance(node, dict):
            return {k: fill(v, source.get(k) if isinstance(source, dict) else None) for k, v in node.items()}
        if isinstance(node, list):
            items = source if isinstance(source, list) else []
            return [fill(v, items[i] if i < len(items) else None) for i, v in enumerate(node)]
        return node

    try:
        filled = fill(stored, saved)
        return filled if isinstance(filled, dict) else None
    except LookupError:
        return None
