"""A target's TLS settings: whom to trust, whether to check at all, and which certificate to show.

Webhook receivers under test rarely have a certificate the system trusts: a company CA, a
self-signed development server, or a gateway that wants the caller's own certificate (mTLS). So
each target may name a CA bundle, turn checks off (development only), and give a client
certificate and key. The files are read once, when the target is built, into one ``SSLContext``
the sender reuses for every connection; a file that is missing or is not what it should be stops
the run with a message naming the target and the file, before anything is sent.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from emulator.errors import EmulatorError

FILE_KEYS = ("ca_file", "client_cert", "client_key")  # settings that name files on this machine
NO_VERIFY_NOTICE = (
    "TLS certificate checks are off (tls.verify: false): anyone between here and the receiver can read and"
    " change what is sent; use this for development servers only"
)


def tls_schema() -> dict[str, Any]:
    """The ``tls`` setting of a target, as JSON Schema (emulator.yaml's schema and the API read this)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "TLS for an https:// URL. Default: the system's trusted CAs, host name checked, no client"
        " certificate. File paths are relative to this file's folder, and are accepted only from this file and"
        " the command line, never through the API.",
        "dependentRequired": {"client_key": ["client_cert"]},
        "properties": {
            "ca_file": {
                "type": "string",
                "minLength": 1,
                "description": "PEM bundle of the CAs to trust instead of the system's (a company CA, or the one"
                " that signed a test certificate).",
            },
            "verify": {
                "type": "boolean",
                "description": "false: check no certificate and no host name. For development servers with a"
                " self-signed certificate ONLY: anyone on the path can read and change what is sent.",
            },
            "client_cert": {
                "type": "string",
                "minLength": 1,
                "description": "PEM client certificate (chain) for a receiver that asks for one (mTLS); may hold"
                " the key too.",
            },
            "client_key": {
                "type": "string",
                "minLength": 1,
                "description": "The client certificate's unencrypted PEM key, when it is not in client_cert's file.",
            },
        },
    }


class TlsError(EmulatorError):
    """A TLS setting that cannot work: a file that is missing, unreadable, or not a certificate or key.

    The message starts with the setting (``tls.ca_file: ...``); ``key`` is the path to it below ``tls``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        head = message.split(":", 1)[0]
        self.key: tuple[str, ...] = (head.removeprefix("tls."),) if head.startswith("tls.") else ()


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """What a target says about TLS; equal settings make equivalent contexts (connections are shared by them)."""

    ca_file: str = ""  # PEM bundle: trust these CAs instead of the system's
    verify: bool = True  # False: no certificate or host name check (development servers only)
    client_cert: str = ""  # PEM certificate (chain) to show a server that asks for one (mTLS)
    client_key: str = ""  # its unencrypted PEM key, when not in the certificate file

    @property
    def default(self) -> bool:
        """Whether these are the system's defaults (nothing to read, nothing to turn off)."""
        return self == _DEFAULT


_DEFAULT = TlsSettings()


def parse_tls(spec: Any) -> TlsSettings:
    """Settings from a target's ``tls`` mapping (checked here too: targets also come from code); raises TlsError.

    Paths are taken as given after ``~`` is expanded; the config loader has already made paths in
    ``emulator.yaml`` relative to the file's folder, and the command line makes its own absolute.
    """
    if spec is None:
        return _DEFAULT
    if not isinstance(spec, dict):
        raise TlsError("tls: expected a mapping such as {ca_file: certs/ca.pem}")
    unknown = sorted(set(spec) - {*FILE_KEYS, "verify"})
    if unknown:
        raise TlsError(f"tls: unknown key {unknown[0]!r}; expected ca_file, verify, client_cert, client_key")
    paths = {}
    for key in FILE_KEYS:
        value = spec.get(key, "")
        if not isinstance(value, str):
            raise TlsError(f"tls.{key}: expected a file path, got {value!r}")
        paths[key] = os.path.expanduser(value) if value else ""
    verify = spec.get("verify", True)
    if not isinstance(verify, bool):
        raise TlsError(f"tls.verify: true or false, got {verify!r}")
    if not verify and paths["ca_file"]:
        raise TlsError("tls: verify: false checks nothing, so ca_file would be ignored; give one or the other")
    if paths["client_key"] and not paths["client_cert"]:
        raise TlsError("tls.client_key: give client_cert too (the certificate the key belongs to)")
    return TlsSettings(paths["ca_file"], verify, paths["client_cert"], paths["client_key"])


def absolute_paths(spec: Any, base: Path) -> Any:
    """A ``tls`` mapping with its relative paths made relative to ``base`` (a config file's folder).

    A path starting with ``${`` or ``~`` is left alone: it is whatever the variable or home says.
    """
    if not isinstance(spec, dict):
        return spec
    out = dict(spec)
    for key in FILE_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value and not value.startswith(("${", "~")) and not os.path.isabs(value):
            out[key] = str(base / value)
    return out


def client_context(settings: TlsSettings) -> ssl.SSLContext:
    """The context for connections to one target, its files read now; raises TlsError for a bad file."""
    if settings.default:
        return default_context()
    if not settings.verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif settings.ca_file:
        _readable("ca_file", settings.ca_file)
        try:
            context = ssl.create_default_context(cafile=settings.ca_file)
        except ssl.SSLError as exc:
            raise TlsError(f"tls.ca_file: {settings.ca_file} holds no PEM certificate ({_reason(exc)})") from None
    else:
        context = ssl.create_default_context()
    if settings.client_cert:
        _load_client(context, settings)
    return context


@cache
def default_context() -> ssl.SSLContext:
    """The system's trust store, checked host names: one context for every target that says nothing."""
    return ssl.create_default_context()


class _EncryptedKeyError(TlsError):
    """Raised from the password callback: the key is encrypted and no password can be given."""


def _refuse_password() -> str:
    # without a callback, OpenSSL would ask for the password on the terminal
    raise _EncryptedKeyError("tls.client_key: encrypted")


def _load_client(context: ssl.SSLContext, settings: TlsSettings) -> None:
    _readable("client_cert", settings.client_cert)
    if settings.client_key:
        _readable("client_key", settings.client_key)
    key = settings.client_key or settings.client_cert
    try:
        context.load_cert_chain(settings.client_cert, settings.client_key or None, password=_refuse_password)
    except _EncryptedKeyError:
        raise TlsError(f"tls.client_key: the key in {key} is encrypted; give an unencrypted PEM key") from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            detail = f"the key in {key} does not belong to the certificate in {settings.client_cert}"
        elif settings.client_key:
            detail = f"{settings.client_cert} and {key} must be a PEM certificate and its PEM key ({_reason(exc)})"
        else:
            detail = f"{settings.client_cert} must hold a PEM certificate and its key ({_reason(exc)})"
        raise TlsError(f"tls.client_cert: {detail}") from None


def _readable(key: str, path: str) -> None:
    """Open the file once, so a missing or unreadable one is named plainly (OpenSSL only says 'PEM lib')."""
    try:
        with open(path, "rb") as file:
            file.read(1)
    except FileNotFoundError:
        raise TlsError(f"tls.{key}: no file {path}") from None
    except IsADirectoryError:
        raise TlsError(f"tls.{key}: {path} is a folder, not a file") from None
    except OSError as exc:
        raise TlsError(f"tls.{key}: cannot read {path} ({exc.strerror or exc})") from None


def _reason(exc: ssl.SSLError) -> str:
    return str(exc.reason or exc).replace("_", " ").lower()
