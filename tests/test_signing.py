"""Every signing scheme, sent over real HTTP to an aiohttp receiver on loopback and checked with
the library or recipe its consumers use (never with our own signing code); one changed body
byte makes each check fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests
from aiohttp import ClientSession, web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from multidict import CIMultiDict
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from svix.webhooks import Webhook as SvixWebhook
from workos import WorkOSClient

from emulator.delivery.signing import SCHEMES, Message, Signing, SigningError, public_jwk, seal, sign

BODY = json.dumps({"event": {"type": "user.login.success", "note": 'zoë "quoted" 😀'}}, ensure_ascii=False).encode()
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


RSA_PEM = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_PEM = pem(ec.generate_private_key(ec.SECP256R1()))
EC384_PEM = pem(ec.generate_private_key(ec.SECP384R1()))
ED_PEM = pem(ed25519.Ed25519PrivateKey.generate())


@pytest.fixture
async def receiver(aiohttp_server):
    """A webhook consumer that keeps each request's exact bytes and headers."""
    received: list[tuple[bytes, CIMultiDict, str, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), CIMultiDict(request.headers), request.method, str(request.url)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/idp", hook)
    server = await aiohttp_server(app)
    return server, received


async def deliver(server, signing: Signing, body: bytes = BODY, tamper: bool = False):
    url = str(server.make_url("/hooks/idp"))
    # what the sender puts on the wire: the body (a SET wraps it in a JWT) and the signature's headers
    body, headers = seal(signing, Message(body=body, event_id="evt_123", timestamp=int(time.time()), url=url))
    sent = bytearray(body)
    if tamper:
        sent[len(sent) // 2] ^= 0x01
    async with ClientSession() as session, session.post(url, data=bytes(sent), headers=headers) as response:
        assert response.status == 204


# -- consumer-side checks, one per scheme ---------------------------------------------------
def check_standard_webhooks(body, headers, method, url, secret=WHSEC):
    Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})


def check_svix(body, headers, method, url, secret=WHSEC):
    SvixWebhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})


def pyjwt_with_ed25519() -> jwt.PyJWS:
    """What a PyJWT consumer registers to verify FusionAuth's ``alg: Ed25519`` (PyJWT knows only EdDSA)."""
    jws = jwt.PyJWS()
    jws.register_algorithm("Ed25519", jwt.algorithms.OKPAlgorithm())
    return jws


def check_fusionauth(body, headers, method, url, key=None, algorithms_=("HS256",)):
    token = headers["X-FusionAuth-Signature-JWT"]
    if "Ed25519" in algorithms_:  # the raw key: a PyJWK would insist on its own JWKS name, EdDSA
        raw = key.key if isinstance(key, jwt.PyJWK) else key
        claims = json.loads(pyjwt_with_ed25519().decode(token, raw, algorithms=list(algorithms_)))
    else:
        claims = jwt.decode(token, key, algorithms=list(algorithms_))
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if not hmac.compare_digest(claims["request_body_sha256"], expected):
        raise ValueError("request_body_sha256 does not match the body")


def check_keycloak(body, headers, method, url, secret="kc-secret", digest="sha256"):
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    if not hmac.compare_digest(headers["X-Keycloak-Signature"], expected):
        raise ValueError("X-Keycloak-Signature does not match")


class _Keys(HTTPSignatureKeyResolver):
    def resolve_public_key(self, key_id):
        return b"idaas-token"


def check_idaas(body, headers, method, url):
    request = requests.Request(method, url, headers=dict(headers), data=body).prepare()
    HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=_Keys()).verify(
        request, require_components=("@method", "@target-uri", "content-digest"), body=body
    )


def check_idaas_legacy(body, headers, method, url):
    expected = hmac.new(b"idaas-token", body, "sha256").hexdigest()
    if not hmac.compare_digest(headers["X-Sha2-Signature"], expected):
        raise ValueError("x-sha2-signature does not match")


def check_workos(body, headers, method, url, secret="workos-secret"):
    WorkOSClient(api_key="sk_test_emulator", client_id="client_emulator").webhooks.verify_header(
        event_body=body, event_signature=headers["WorkOS-Signature"], secret=secret
    )


def check_secevent(body, headers, method, url):
    assert headers["Content-Type"] == "application/secevent+jwt"
    public = serialization.load_pem_private_key(RSA_PEM.encode(), None).public_key()
    token = body.decode()
    assert jwt.get_unverified_header(token)["typ"] == "secevent+jwt"
    claims = jwt.decode(token, public, algorithms=["RS256"], options={"verify_aud": False})
    if claims["event"]["type"] != "user.login.success":
        raise ValueError("the SET's claims are not the event")


def check_header(body, headers, method, url):
    if headers.get("X-Api-Key") != "s3cret":
        raise ValueError("missing API key")


CASES = {
    "standard-webhooks": (Signing("standard-webhooks", (WHSEC,)), check_standard_webhooks),
    "fusionauth-jwt HS256": (
        Signing("fusionauth-jwt", ("fa-hmac-secret-of-32-bytes-length!",), "HS256", "hmac-key"),
        lambda *a: check_fusionauth(*a, key="fa-hmac-secret-of-32-bytes-length!"),
    ),
    "keycloak-hmac": (Signing("keycloak-hmac", ("kc-secret",)), check_keycloak),
    "keycloak-hmac sha1": (
        Signing("keycloak-hmac", ("kc-secret",), "HmacSHA1"),
        lambda *a: check_keycloak(*a, digest="sha1"),
    ),
    "idaas": (Signing("idaas", ("idaas-token",), key_id="webhook-1"), check_idaas),
    "idaas-legacy": (Signing("idaas-legacy", ("idaas-token",)), check_idaas_legacy),
    "header": (Signing("header", header="X-Api-Key", value="s3cret"), check_header),
    "workos": (Signing("workos", ("workos-secret",)), check_workos),
    "secevent-jwt": (Signing("secevent-jwt", (RSA_PEM,), "RS256"), check_secevent),
    "svix": (Signing("svix", (WHSEC,)), check_svix),
}


def test_every_scheme_has_a_consumer_check():
    assert {case.split()[0] for case in CASES} == set(SCHEMES) - {"none"}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_signature_verifies_with_the_consumer_library(receiver, case):
    server, received = receiver
    signing, check = CASES[case]
    await deliver(server, signing)
    check(*received[-1])


@pytest.mark.parametrize("case", sorted(c for c in CASES if c != "header"))
async def test_one_changed_body_byte_fails_verification(receiver, case):
    server, received = receiver
    signing, check = CASES[case]
    await deliver(server, signing, tamper=True)
    with pytest.raises((WebhookVerificationError, ValueError, jwt.PyJWTError, Exception)) as info:
        check(*received[-1])
    assert not isinstance(info.value, KeyError)


@pytest.mark.parametrize(
    ("private_pem", "algorithm"),
    [(RSA_PEM, "RS256"), (EC_PEM, "ES256"), (EC384_PEM, "ES384"), (ED_PEM, "Ed25519"), (ED_PEM, "EdDSA")],
)
async def test_fusionauth_asymmetric_keys_verify_from_the_published_jwks(receiver, private_pem, algorithm):
    server, received = receiver
    await deliver(server, Signing("fusionauth-jwt", (private_pem,), algorithm, "key-1"))
    token = received[-1][1]["X-FusionAuth-Signature-JWT"]
    jwks = {"keys": [{**public_jwk(private_pem, "key-1"), "alg": "EdDSA" if algorithm == "Ed25519" else algorithm}]}
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "typ": "JWT", "kid": "key-1"}
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    check_fusionauth(*received[-1], key=key, algorithms_=(algorithm,))
    if algorithm != "Ed25519":  # plain PyJWT verifies every other algorithm as it comes
        assert jwt.decode(token, key, algorithms=[algorithm]).keys() == {"request_body_sha256"}


# FusionAuth's JWT header (fusionauth-site signing.mdx: {"alg":"RS256","typ":"JWT","kid":"_H07wVG1fV3l5ih74rNxIC3nevE"};
# fusionauth-jwt Header.java: typ defaults to "JWT"; JWTEncoder.encode sets kid from the signer whenever it has one)
FUSIONAUTH_HEADER_KEYS = {"alg", "typ", "kid"}
# Key Master's KeyAlgorithm (fusionauth-java-client Key.java): HS*, RS*, ES*, Ed25519; no PS*
FUSIONAUTH_KEY_ALGORITHMS = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "Ed25519"}


def test_fusionauth_jwt_header_always_names_its_key(registry):
    from emulator.delivery.targets import build_target

    for secret in ("fa-hmac-secret-of-32-bytes-length!", RSA_PEM, EC_PEM, ED_PEM):
        spec = {"name": "t", "url": "http://127.0.0.1:9/", "vendor": "fusionauth", "signing": {"secret": secret}}
        target = build_target(spec, registry)
        token = sign(target.signing, Message(BODY, "e", 1))["X-FusionAuth-Signature-JWT"]
        header = jwt.get_unverified_header(token)
        assert set(header) == FUSIONAUTH_HEADER_KEYS and header["typ"] == "JWT" and header["kid"]
        assert header["alg"] in FUSIONAUTH_KEY_ALGORITHMS


def test_fusionauth_jwt_payload_is_the_bodys_hash_as_compact_json(registry):
    """The claims segment is what fusionauth-jwt's Jackson writes of the one claim: compact JSON of
    the base64 (standard alphabet, padded) SHA-256 of the body as sent (fusionauth-site signing.mdx)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from emulator.delivery.targets import build_target

    spec = {"name": "t", "url": "http://127.0.0.1:9/", "vendor": "fusionauth", "signing": {"secret": "x" * 32}}
    target = build_target(spec, registry)

    @settings(max_examples=25, deadline=None, derandomize=True)
    @given(st.binary(max_size=2000))
    def claims_of(body: bytes) -> None:
        token = sign(target.signing, Message(body, "e", 1))["X-FusionAuth-Signature-JWT"]
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        expected = json.dumps({"request_body_sha256": digest}, separators=(",", ":")).encode()
        assert jwt.PyJWS().decode(token, "x" * 32, algorithms=["HS256"]) == expected

    claims_of()


def test_fusionauth_offers_only_the_algorithms_its_keys_have():
    from emulator.delivery.signing import scheme

    offered = set(scheme("fusionauth-jwt").algorithms)
    assert offered - {"EdDSA"} == FUSIONAUTH_KEY_ALGORITHMS, "EdDSA is the same key under the legacy name"
    with pytest.raises(SigningError, match="supports"):
        Signing("fusionauth-jwt", (RSA_PEM,), "PS256")


async def test_standard_webhooks_rotation_sends_both_signatures_and_each_verifies(receiver):
    server, received = receiver
    old = "whsec_" + base64.b64encode(b"an older secret, still accepted!").decode()
    await deliver(server, Signing("standard-webhooks", (WHSEC, old)))
    body, headers, method, url = received[-1]
    assert len(headers["Webhook-Signature"].split(" ")) == 2
    check_standard_webhooks(body, headers, method, url, secret=WHSEC)
    check_standard_webhooks(body, headers, method, url, secret=old)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "hmac"}, "unknown signing scheme 'hmac'"),
        ({"scheme": "standard-webhooks"}, "needs a secret"),
        ({"scheme": "header", "header": "X-Key"}, "needs a header name and a value"),
    ],
)
def test_bad_signing_configuration_is_explained(kwargs, message):
    with pytest.raises(SigningError, match=message):
        Signing(**kwargs)


def test_secrets_never_show_in_a_repr():
    signing = Signing("keycloak-hmac", ("super-secret-value",))
    assert "super-secret-value" not in repr(signing) and "super-secret-value" not in str(signing)


def test_a_bad_key_for_the_algorithm_is_explained():
    with pytest.raises(SigningError, match="RS256 signs with a PEM private key"):
        Signing("fusionauth-jwt", ("not a pem",), "RS256")
    with pytest.raises(SigningError, match="not a PEM private key"):
        Signing("fusionauth-jwt", ("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----",), "ES256")
    with pytest.raises(SigningError, match="keycloak-hmac supports HmacSHA256"):
        Signing("keycloak-hmac", ("secret",), "HmacMD5")


@pytest.mark.parametrize(("private_pem", "algorithm"), [(RSA_PEM, "RS256"), (EC384_PEM, "ES384"), (ED_PEM, "Ed25519")])
def test_a_key_implies_its_algorithm_and_a_kid_found_in_the_jwks(registry, private_pem, algorithm):
    from emulator.delivery.targets import build_target, signing_keys

    spec = {"name": "t", "url": "http://127.0.0.1:9/", "vendor": "fusionauth", "signing": {"secret": private_pem}}
    target = build_target(spec, registry)
    assert target.signing.algorithm == algorithm and target.signing.key_id
    token = sign(target.signing, Message(BODY, "e", 1))["X-FusionAuth-Signature-JWT"]
    [jwk] = signing_keys([target])
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"] and jwk["alg"] == algorithm
    key = jwt.PyJWK({**jwk, "alg": "EdDSA"} if algorithm == "Ed25519" else jwk).key
    claims = json.loads(pyjwt_with_ed25519().decode(token, key, algorithms=[algorithm]))
    assert claims["request_body_sha256"] == base64.b64encode(hashlib.sha256(BODY).digest()).decode()


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [
        ("fa-hmac-secret-of-32-bytes-length!", "HS256"),
        ("fa-hmac-secret-of-48-bytes-length-for-hs384-ok!!", "HS384"),
        ("fa-hmac-secret-of-64-bytes-length-for-hs512-so-it-is-long-enough!", "HS512"),
        (RSA_PEM, "RS256"),
        (RSA_PEM, "RS512"),
        (ED_PEM, "Ed25519"),
        (EC_PEM, "ES256"),
    ],
)
def test_fusionauth_compact_jws_is_pyjwts_encode(key, algorithm):
    """The header segment kept per target gives exactly PyJWT's ``encode`` (one meaning for both paths):
    byte for byte where the algorithm is deterministic; ECDSA signs with a random nonce, so there
    the header and payload segments are equal and the signature verifies."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from emulator.delivery.signing.jws import _signer, compact_jws

    @settings(max_examples=15, deadline=None, derandomize=True)
    @given(st.binary(max_size=300), st.text(min_size=1, max_size=30))
    def same(payload: bytes, kid: str) -> None:
        ours = compact_jws(algorithm, kid, key, payload)
        theirs = _signer().encode(payload, key, algorithm=algorithm, headers={"typ": "JWT", "kid": kid})
        if not algorithm.startswith("ES"):
            assert ours == theirs
            return
        assert ours.rsplit(".", 1)[0] == theirs.rsplit(".", 1)[0]
        public = serialization.load_pem_private_key(key.encode(), None).public_key()
        assert jwt.PyJWS().decode(ours, public, algorithms=[algorithm]) == payload

    same()
