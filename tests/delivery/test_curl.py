"""'Copy as curl': the command sends the delivery again, signed now, and never holds a secret.

Each command is also run (bash, curl) against a receiver on this machine, with the variables it
names set in its environment: what arrives must verify as the vendor's signature.
"""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emulator.delivery.curl import replay
from emulator.delivery.redact import REDACTED
from emulator.delivery.signing import verify
from emulator.delivery.targets import build_target

BODY = json.dumps({"id": "evt-1", "type": "LOGIN", "note": 'it\'s "quoted" and ${NOT_A_VARIABLE} $(date)'}).encode()
SECRETS = {
    "IDP_EMULATOR_HMAC": "hmac-secret-from-the-environment",
    "IDP_EMULATOR_API_KEY": "api-key-from-the-environment",
    "IDP_EMULATOR_PASSWORD": "password-from-the-environment",
}
LITERAL = "literal-secret-given-to-the-api"


@pytest.fixture
def receiver():
    got: list[tuple[dict[str, str], bytes, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers.items()), body, self.path))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()


def run(command: str) -> None:
    """The command as a person runs it: in a shell that has the variables it names."""
    subprocess.run(["bash", "-c", command], env={"PATH": "/usr/bin:/bin", **SECRETS}, check=True, timeout=30)


def secrets_in(text: str) -> list[str]:
    return [s for s in [*SECRETS.values(), LITERAL] if s.lower() in text.lower()]


def test_a_signed_delivery_replays_with_a_fresh_signature(registry, receiver, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    url, got = receiver
    spec = {"name": "hook", "url": f"{url}/hook", "vendor": "keycloak", "signing": {"secret": "${IDP_EMULATOR_HMAC}"}}
    made = replay(build_target(spec, registry), "evt-1", BODY, 1_767_225_600)
    command = made.command()
    assert secrets_in(command) == [] and made.variables == [] and not made.redacted
    run(command)
    headers, body, path = got[0]
    assert body == BODY and path == "/hook" and headers["Content-Type"] == "application/json"
    assert verify("keycloak-hmac", [SECRETS["IDP_EMULATOR_HMAC"]], body, headers).ok


def test_credentials_are_read_from_the_shell_or_redacted(registry, receiver, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    url, got = receiver
    spec = {
        "name": "api",
        "url": f"{url}/hook",
        "vendor": "strivacity",
        "signing": {"scheme": "header", "header": "X-Api-Key", "value": "${IDP_EMULATOR_API_KEY}"},
        "basic_auth": {"username": "audit", "password": "${IDP_EMULATOR_PASSWORD}"},
        "headers": {"X-Team": "identity"},
    }
    made = replay(build_target(spec, registry), "evt-1", BODY, 1_767_225_600)
    command = made.command()
    assert secrets_in(command) == [] and not made.redacted
    assert made.variables == ["IDP_EMULATOR_API_KEY", "IDP_EMULATOR_PASSWORD"]
    assert '"${IDP_EMULATOR_API_KEY}"' in command and '-u audit:"${IDP_EMULATOR_PASSWORD}"' in command
    run(command)
    headers, body, _ = got[0]
    assert body == BODY and headers["X-Api-Key"] == SECRETS["IDP_EMULATOR_API_KEY"] and headers["X-Team"] == "identity"
    assert headers["Authorization"].startswith("Basic ")  # curl made it from -u with the variable's value
    assert verify("header", [SECRETS["IDP_EMULATOR_API_KEY"]], body, headers, header="X-Api-Key").ok


def test_literal_secrets_become_redacted_everywhere(registry):
    spec = {
        "name": "literal",
        "url": f"http://127.0.0.1:9/hook?token={LITERAL}",
        "vendor": "strivacity",
        "signing": {"scheme": "header", "header": "Authorization", "value": f"Bearer {LITERAL}"},
        "basic_auth": {"username": "audit", "password": LITERAL},
        "headers": {"X-Api-Key": LITERAL, "X-Echo": f"copy of {LITERAL}"},
    }
    made = replay(build_target(spec, registry), "evt-1", BODY + LITERAL.encode(), 1_767_225_600)
    text = made.command() + json.dumps([made.url.text, [(n, v.text) for n, v in made.headers]])
    assert secrets_in(text) == []
    assert made.redacted and f"token={REDACTED}" in made.url.text and f"-u 'audit:{REDACTED}'" in made.command()
    shown = dict((n, v.text) for n, v in made.headers)
    assert shown["X-Api-Key"] == REDACTED and shown["Authorization"] == REDACTED and REDACTED in shown["X-Echo"]
