"""The receiver's signature verdicts agree with the consumers' own libraries, scheme by scheme."""

from __future__ import annotations

import time

import pytest
from multidict import CIMultiDict
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from test_signing import CASES, EC_PEM, RSA_PEM, WHSEC

from emulator.delivery.signing import Message, Signing, sign, verify

BODY = b'{"event":{"type":"user.login.success","id":"e1","note":"zo\xc3\xab"}}'
URL = "https://hooks.example.com/idp?x=1"
SECRETS = {
    "standard-webhooks": [WHSEC],
    "fusionauth-jwt HS256": ["fa-hmac-secret-of-32-bytes-length!"],
    "keycloak-hmac": ["kc-secret"],
    "keycloak-hmac sha1": ["kc-secret"],
    "idaas": ["idaas-token"],
    "idaas-legacy": ["idaas-token"],
    "header": ["s3cret"],
    "workos": ["workos-secret"],
    "svix": [WHSEC],
}


def signed(signing: Signing, body: bytes = BODY, stamp: int | None = None) -> dict[str, str]:
    return sign(signing, Message(body, "msg_1", stamp or int(time.time()), "POST", URL))


def check(case: str, body: bytes, headers: dict[str, str], secrets=None):
    signing, _ = CASES[case]
    return verify(
        signing.scheme, secrets or SECRETS[case], body, headers, "POST", URL, signing.algorithm, signing.header
    )


# a SET's signature is its body (the receiver's verdicts on SETs: tests/vendors/test_ssf.py)
HEADER_CASES = sorted(c for c in CASES if c != "secevent-jwt")


@pytest.mark.parametrize("case", HEADER_CASES)
def test_valid_and_tampered(case):
    signing, consumer_check = CASES[case]
    headers = signed(signing)
    verdict = check(case, BODY, headers)
    assert verdict.ok is True, verdict
    consumer_check(BODY, CIMultiDict(headers), "POST", URL)  # the consumer's library agrees
    if signing.scheme != "header":
        tampered = BODY.replace(b"e1", b"e2")
        assert check(case, tampered, headers).ok is False
        with pytest.raises(Exception):  # noqa: B017 - each library raises its own error
            consumer_check(tampered, CIMultiDict(headers), "POST", URL)


@pytest.mark.parametrize("case", HEADER_CASES)
def test_wrong_secret_and_missing_headers(case):
    signing, _ = CASES[case]
    headers = signed(signing)
    wrong = (
        "whsec_" + "A" * 44
        if signing.scheme in ("standard-webhooks", "svix")
        else "not-the-secret-at-all-but-long-enough"
    )
    assert check(case, BODY, headers, [wrong]).ok is False
    verdict = check(case, BODY, {"Content-Type": "application/json"})
    assert verdict.ok is False and "missing" in verdict.reason


def test_standard_webhooks_rotation_and_tolerance():
    old, new = WHSEC, "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="
    headers = signed(Signing("standard-webhooks", (new, old)))
    assert verify("standard-webhooks", [old], BODY, headers).ok is True
    assert verify("standard-webhooks", [new], BODY, headers).ok is True
    stale = signed(Signing("standard-webhooks", (old,)), stamp=int(time.time()) - 3600)
    assert verify("standard-webhooks", [old], BODY, stale).ok is True  # by default only the signature counts
    late = verify("standard-webhooks", [old], BODY, stale, tolerance=300)
    assert late.ok is False and "away from now" in late.reason
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(old).verify(BODY, {k.lower(): v for k, v in stale.items()})  # the library agrees


@pytest.mark.parametrize(("pem", "alg"), [(RSA_PEM, "RS256"), (EC_PEM, "ES256")])
def test_fusionauth_asymmetric_keys(pem, alg):
    headers = signed(Signing("fusionauth-jwt", (pem,), alg, "k1"))
    assert verify("fusionauth-jwt", [pem], BODY, headers).ok is True
    assert verify("fusionauth-jwt", [pem], BODY + b" ", headers).ok is False


def test_idaas_covers_method_and_url():
    headers = signed(Signing("idaas", ("idaas-token",)))
    assert verify("idaas", ["idaas-token"], BODY, headers, "POST", URL).ok is True
    assert verify("idaas", ["idaas-token"], BODY, headers, "PUT", URL).ok is False
    assert verify("idaas", ["idaas-token"], BODY, headers, "POST", URL + "&y=2").ok is False


def test_nothing_to_check():
    assert verify("none", ["x"], BODY, {}).ok is None
    assert verify("keycloak-hmac", [], BODY, {}).ok is None
    garbage = verify("fusionauth-jwt", ["k" * 32], BODY, {"X-FusionAuth-Signature-JWT": "not.a.jwt"})
    assert garbage.ok is False and "unreadable" in garbage.reason
