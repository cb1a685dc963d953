"""The Shared Signals transmitter: each bundled render is a Security Event Token as RFC 8417, SSF 1.0,
CAEP 1.0 and RISC 1.0 define it (the rules below are the specs', cited per check), and what `serve`
pushes is that SET signed as a JWT, verified with PyJWT against the JWKS its SSF configuration names."""

from __future__ import annotations

from functools import cache

import jwt
from conftest import scenario_names
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from server.api_helpers import finished

from emulator.render import load, render_events
from emulator.vendors.registry import Registry

VENDOR = "ssf"
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
# CAEP 1.0, section 2 (optional event claims): who initiated the event
INITIATING = {"admin", "user", "policy", "system"}
# CAEP 1.0, Credential Change: the REQUIRED credential_type and change_type values
CREDENTIAL_TYPES = {
    "password", "pin", "x509", "fido2-platform", "fido2-roaming", "fido-u2f", "verifiable-credential",
    "phone-voice", "phone-sms", "app",
}  # fmt: skip
CHANGE_TYPES = {"create", "revoke", "update", "delete"}
# CAEP 1.0, Device Compliance Change: previous_status and current_status
COMPLIANCE = {"compliant", "not-compliant"}
KEY = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)


@cache
def rendered() -> list:
    registry = Registry()
    return [e for s in scenario_names() for e in render_events(load(s), VENDOR, 7, registry=registry)]


def check_set(claims: dict, event_type: str) -> None:
    # RFC 8417, 2.2: iss, iat, jti and events are REQUIRED; iat is a NumericDate
    assert isinstance(claims["iss"], str) and claims["iss"]
    assert isinstance(claims["jti"], str) and claims["jti"]
    assert isinstance(claims["iat"], int) and not isinstance(claims["iat"], bool)
    # SSF 1.0, 4.1.8 (txn) is a string when present; 4.1.2: sub_id is REQUIRED, a Subject Identifier (RFC 9493)
    assert isinstance(claims.get("txn", ""), str)
    sub = claims["sub_id"]
    assert sub["format"] == "email" and "@" in sub["email"]  # RFC 9493, 3.2.2: the email format has "email"
    # SSF 1.0, 4.1.6: "events" holds exactly one event, keyed by its type's URI
    assert list(claims["events"]) == [event_type]
    event = claims["events"][event_type]
    assert isinstance(event, dict)
    assert event_type.startswith((CAEP, RISC))
    if event_type.startswith(CAEP):
        # CAEP 1.0, 2: event_timestamp is a NumericDate (seconds); initiating_entity one of four values
        assert isinstance(event["event_timestamp"], int) and abs(event["event_timestamp"] - claims["iat"]) < 86400
        assert event.get("initiating_entity", "user") in INITIATING
    name = event_type.rsplit("/", 1)[1]
    if name == "credential-change":
        assert event["credential_type"] in CREDENTIAL_TYPES and event["change_type"] in CHANGE_TYPES
    if name == "token-claims-change":
        assert isinstance(event["claims"], dict) and event["claims"]
    if name == "assurance-level-change":
        assert event["namespace"] and event["current_level"]
        assert event.get("change_direction", "increase") in {"increase", "decrease"}
    if name == "device-compliance-change":
        assert event["previous_status"] in COMPLIANCE and event["current_status"] in COMPLIANCE
    if name == "session-established" and "amr" in event:
        assert isinstance(event["amr"], list) and all(isinstance(v, str) for v in event["amr"])
    if name == "identifier-changed":  # RISC 1.0: new-value is the subject's new identifier
        assert event["new-value"] != claims["sub_id"]["email"]


def test_every_bundled_render_is_a_set_as_the_specs_define():
    events = rendered()
    assert events
    for event in events:
        check_set(event.body, event.type)
    jtis = [e.body["jti"] for e in events]
    assert len(set(jtis)) == len(jtis)  # RFC 8417: jti is unique


def test_actions_become_the_signals_the_issue_names():
    by_action = {(e.action, e.type.rsplit("/", 1)[1]) for e in rendered()}
    assert ("logout", "session-revoked") in by_action
    assert ("update_password", "credential-change") in by_action
    assert ("lockout", "account-disabled") in by_action


async def test_serve_pushes_signed_sets_that_verify_against_its_jwks(api, webhook_receiver, monkeypatch):
    monkeypatch.setenv("IDP_EMULATOR_SSF_KEY", KEY)  # serve takes a private key by reference only
    webhook_receiver.respond(then=202)  # RFC 8935, 2: a receiver accepts a SET with 202
    webhook_receiver.expect(VENDOR, KEY)
    config = await (await api.get("/.well-known/ssf-configuration")).json()
    assert config["spec_version"] == "1_0" and config["delivery_methods_supported"] == ["urn:ietf:rfc:8935"]
    audience = "https://receiver.example.com/ssf"
    target = {
        "name": "receiver",
        "url": webhook_receiver.url,
        "vendor": VENDOR,
        "signing": {"secret": "${IDP_EMULATOR_SSF_KEY}", "issuer": config["issuer"], "audience": audience},
    }
    started = await api.post(
        "/api/runs", json={"scenario": "logout", "vendor": VENDOR, "targets": [target], "time_scale": 0, "seed": 1}
    )
    assert started.status == 202, await started.text()
    await finished(api, (await started.json())["run"])
    got = await webhook_receiver.wait_for_async(3)  # two sign-ins (session-established), one sign-out
    assert len(got) == 3
    jwks_path = config["jwks_uri"].split("/", 3)[3]
    keys = jwt.PyJWKSet.from_dict(await (await api.get(f"/{jwks_path}")).json())
    for webhook in got:
        assert webhook.headers["Content-Type"] == "application/secevent+jwt" and webhook.answered == 202
        token = webhook.body.decode()
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "secevent+jwt" and header["alg"] == "RS256"  # the CAEP interop profile's
        key = next(k for k in keys.keys if k.key_id == header["kid"])
        claims = jwt.decode(token, key, algorithms=["RS256"], issuer=config["issuer"], audience=audience)
        check_set(claims, webhook.type)
        assert webhook.verdict.ok is True and webhook.user == claims["sub_id"]["email"]
        assert webhook.id == claims["jti"]
    assert any(w.type == CAEP + "session-revoked" for w in got)


async def test_listen_reads_and_verifies_sets(registry):
    from testing.test_listen import deliver, start_listen, stop

    proc, url = await start_listen("--vendor", VENDOR, "--secret", KEY, "--respond", "202")
    summary = await deliver(registry, url, VENDOR, signing={"secret": KEY})
    out = await stop(proc)
    lines = [line for line in out.splitlines() if "POST /webhooks" in line]
    assert summary.ok and len(lines) == summary.attempts >= 1
    assert all("signature valid" in line and "user=" in line and line.endswith("202") for line in lines)
    assert CAEP + "session-established" in lines[0]


def test_the_receiver_refuses_a_set_signed_by_another_key_or_changed():
    from emulator.delivery.signing import Message, Signing, seal, verify

    body = rendered()[0].record()["body"]
    import json

    token, headers = seal(Signing("secevent-jwt", (KEY,)), Message(json.dumps(body).encode(), "e", 1))
    assert verify("secevent-jwt", [KEY], token, headers).ok is True
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    assert verify("secevent-jwt", [other], token, headers).ok is False
    head, claims, signature = token.split(b".")
    changed = b".".join([head, claims[:-2] + (b"A" if claims[-2:-1] != b"A" else b"B") + claims[-1:], signature])
    assert verify("secevent-jwt", [KEY], changed, headers).ok is False
    assert "not a JWT" in verify("secevent-jwt", [KEY], b'{"json": true}', headers).reason
