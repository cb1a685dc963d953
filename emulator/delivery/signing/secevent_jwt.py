"""Security Event Tokens pushed as an OpenID Shared Signals transmitter pushes them.

The event's JSON is the SET's claims (RFC 8417); the body on the wire is that JWT, signed with the
target's private key, with the header ``{"alg", "typ": "secevent+jwt", "kid"}`` and sent as
``Content-Type: application/secevent+jwt`` (RFC 8935, push delivery; the receiver answers 202).
RS256 is the default, the algorithm the CAEP interoperability profile requires; an EC or EdDSA
key signs with its own. ``iat`` is the moment of signing (the signed time, as other schemes'
timestamps are); ``event_timestamp`` inside the event keeps the scenario's time. The target's
``issuer`` and ``audience`` options set ``iss`` and ``aud``. Receivers verify against the
transmitter's JWKS, which ``serve`` publishes at ``/.well-known/jwks.json`` (its SSF configuration
names it as ``jwks_uri``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulator.delivery.signing.base import VALID, Message, Received, Scheme, Signing, SigningError, Verdict
from emulator.delivery.signing.keys import is_pem, key_algorithm, key_id_for, load_private_key, public_jwk

TYP = "secevent+jwt"
_OPTION = {"iss": "issuer", "aud": "audience"}
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA")


def _wrap(signing: Signing, m: Message) -> bytes:
    import json

    import jwt

    algorithm = signing.algorithm or key_algorithm(signing.secrets[0])
    headers = {"typ": TYP, "kid": signing.key_id or key_id_for(signing.secrets[0])}
    try:
        claims = json.loads(m.body)
        claims["iat"] = m.timestamp  # a SET is issued when it is signed: the attempt's time, not the scenario's
        for claim in ("iss", "aud"):  # the transmitter and the receiver as the target names them
            if signing.extra.get(_OPTION[claim]):
                claims[claim] = signing.extra[_OPTION[claim]]
        return jwt.encode(claims, signing.secrets[0], algorithm=algorithm, headers=headers).encode()
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise SigningError(f"secevent-jwt cannot sign with {algorithm}: {exc}") from None


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    return {}  # the body is the signature


def _verify(secrets: Sequence[str], r: Received) -> Verdict:
    import jwt

    token = r.body.decode("ascii", "replace")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        return Verdict(False, f"the body is not a JWT ({exc})")
    if header.get("typ") != TYP:
        return Verdict(False, f"the JWT's typ is {header.get('typ')!r}, not {TYP!r}")
    for secret in secrets:
        if not is_pem(secret):
            continue
        try:
            jwt.decode(
                token,
                load_private_key(secret).public_key(),
                algorithms=list(ALGORITHMS),
                options={"verify_aud": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            return Verdict(False, f"unreadable SET ({exc})")
        return VALID
    return Verdict(False, "the SET's signature does not match the key")


def _key_defaults(secrets: tuple[str, ...]) -> dict[str, str]:
    if not secrets or not is_pem(secrets[0]):
        return {}
    return {"algorithm": key_algorithm(secrets[0]), "key_id": key_id_for(secrets[0])}


def _validate(signing: Signing) -> None:
    for secret in signing.secrets:
        if not is_pem(secret):
            raise SigningError("secevent-jwt signs with a PEM private key (RSA, EC or Ed25519), not a shared secret")
        load_private_key(secret)


def _public_keys(signing: Signing) -> list[dict[str, Any]]:
    return [public_jwk(s, signing.key_id or key_id_for(s)) for s in signing.secrets if is_pem(s)]


SCHEME = Scheme(
    "secevent-jwt",
    "the body is the event as a Security Event Token: a JWT {alg, typ secevent+jwt, kid} signed with a PEM key"
    " (RS256 by default), Content-Type application/secevent+jwt (RFC 8417, RFC 8935)",
    _sign,
    _verify,
    algorithms=ALGORITHMS,
    key_defaults=_key_defaults,
    validate=_validate,
    public_keys=_public_keys,
    options={
        "issuer": {"type": "string", "description": "secevent-jwt: the SETs' iss (the transmitter; serve's own URL)."},
        "audience": {"type": "string", "description": "secevent-jwt: the SETs' aud (the receiver of this stream)."},
    },
    wrap=_wrap,
    content_type="application/secevent+jwt",
)
