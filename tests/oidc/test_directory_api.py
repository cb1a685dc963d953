"""The live IdP's clients and users through the REST API, in emulator.yaml's form and words.

A client and a user created over the API sign in at once (Authlib's client, the ID token checked with
joserfc against the JWKS); secrets never come back; what the file refuses, the API refuses with the
file's message, as a problem document naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from emulator.delivery.config import Config, ConfigError, load_config
from emulator.testing.emulator import Emulator
from emulator.testing.harness import LoopThread

REDIRECT = "http://localhost:3000/callback"
DISCOVERY = "/realms/acme/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    harness = LoopThread()
    emulator = harness.run(Emulator(harness).start())
    emulator.service.config = Config(clients=[{"id": "from-file", "redirect_uris": [REDIRECT]}])
    yield emulator.url
    harness.run(emulator.stop())
    harness.close()


def sign_in(url: str, client: OAuth2Session, username: str, password: str) -> dict[str, Any]:
    """The authorization code flow with PKCE through the login page; the tokens, the ID token checked."""
    meta = requests.get(url + DISCOVERY).json()
    verifier, nonce = generate_token(48), generate_token(16)
    start, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    browser = requests.Session()
    page = browser.get(start)
    assert page.status_code == 200, page.text
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    done = browser.post(
        url + "/oidc/login",
        data={**form, "username": username, "password": password, "outcome": "success"},
        allow_redirects=False,
    )
    assert done.status_code == 302, done.text
    token: dict[str, Any] = client.fetch_token(
        meta["token_endpoint"], authorization_response=done.headers["Location"], code_verifier=verifier
    )
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims
    assert claims["iss"] == meta["issuer"] and claims["aud"] == client.client_id and claims["nonce"] == nonce
    return dict(claims)


def test_a_client_and_a_user_created_through_the_api_sign_in_at_once(url):
    user = {"username": "carol", "password": "api-password", "email": "carol@example.com"}
    assert requests.post(url + "/api/users", json=user).status_code == 201
    spec = {"id": "api-app", "secret": "api-app-secret-0123456789", "redirect_uris": [REDIRECT]}
    made = requests.post(url + "/api/clients", json=spec)
    assert made.status_code == 201 and made.headers["Location"] == "/api/clients/api-app"
    assert made.json()["config"]["secret"] == "<hidden>" and made.json()["public"] is False

    client = OAuth2Session(
        "api-app", spec["secret"], scope="openid email", redirect_uri=REDIRECT, code_challenge_method="S256"
    )
    claims = sign_in(url, client, "carol", "api-password")
    assert claims["preferred_username"] == "carol" and claims["email"] == "carol@example.com"

    listed = requests.get(url + "/api/clients").json()["clients"]
    assert {c["id"]: c["source"] for c in listed} == {"api-app": "api", "from-file": "config"}
    assert "api-app-secret" not in requests.get(url + "/api/clients/api-app").text
    assert "api-password" not in requests.get(url + "/api/users").text
    assert requests.get(url + "/api/users/carol").json()["config"]["password"] == "<hidden>"

    # replaced as a whole, at once: a new secret and grant; the old secret no longer works
    replaced = requests.put(
        url + "/api/clients/api-app", json={"secret": "second-secret-0123456789", "grants": ["client_credentials"]}
    )
    assert replaced.status_code == 200 and replaced.json()["config"]["secret"] == "<hidden>"
    meta = requests.get(url + DISCOVERY).json()
    token = meta["token_endpoint"]
    old = requests.post(token, data={"grant_type": "client_credentials"}, auth=("api-app", spec["secret"]))
    assert old.status_code == 401 and old.json()["error"] == "unauthorized_client"
    new = requests.post(token, data={"grant_type": "client_credentials"}, auth=("api-app", "second-secret-0123456789"))
    assert new.status_code == 200 and "access_token" in new.json()
    public = requests.put(url + "/api/clients/api-app", json={"redirect_uris": [REDIRECT]})
    assert public.status_code == 200 and public.json()["public"] is True  # no secret given: none kept
    assert requests.delete(url + "/api/clients/api-app").json() == {"client": "api-app", "deleted": True}
    gone = requests.get(meta["authorization_endpoint"], params={"client_id": "api-app", "response_type": "code"})
    assert gone.status_code == 400 and "Client not found." in gone.text
    assert requests.delete(url + "/api/users/carol").status_code == 200


def test_a_secret_from_the_environment_shows_as_its_variable(url, monkeypatch):
    monkeypatch.setenv("IDP_EMULATOR_TEST_CLIENT_SECRET", "from-the-environment-0123")
    spec = {"id": "env-app", "secret": "${IDP_EMULATOR_TEST_CLIENT_SECRET}", "grants": ["client_credentials"]}
    made = requests.put(url + "/api/clients/env-app", json=spec)
    assert made.status_code == 201 and made.json()["config"]["secret"] == "${IDP_EMULATOR_TEST_CLIENT_SECRET}"
    meta = requests.get(url + DISCOVERY).json()
    token = requests.post(
        meta["token_endpoint"], data={"grant_type": "client_credentials"}, auth=("env-app", "from-the-environment-0123")
    )
    assert token.status_code == 200 and "access_token" in token.json()
    requests.delete(url + "/api/clients/env-app")


def problem(answer: requests.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    return body


def test_the_api_refuses_what_the_file_refuses_in_the_same_words(url, tmp_path: Path):
    cases = [  # (client as given, the field the API names)
        ({"id": "x", "grant": ["password"]}, "client"),
        ({"id": "x", "grants": ["implicit"]}, "grants[0]"),
        ({"id": "x", "redirect_uris": ["ftp://x"]}, "redirect_uris[0]"),
        ({"id": "-x"}, "id"),
    ]
    for spec, field in cases:
        (tmp_path / "emulator.yaml").write_text("clients:\n  - " + repr(spec).replace("'", '"') + "\n")
        with pytest.raises(ConfigError) as refused:
            load_config(tmp_path / "emulator.yaml")
        in_file = refused.value.problems[0].message  # clients[0].grants[0]: 'implicit' is not one of ...
        body = problem(requests.post(url + "/api/clients", json=spec), 422)
        assert body["field"] == field
        assert body["detail"].split(": ", 1)[1] == in_file.split(": ", 1)[1]


def test_bad_requests_are_problems_naming_what_is_wrong(url, monkeypatch):
    monkeypatch.setenv("HOME_SECRET", "x")
    assert (
        "<hidden>"
        in problem(requests.post(url + "/api/clients", json={"id": "h", "secret": "<hidden>"}), 422)["detail"]
    )
    outside = problem(requests.post(url + "/api/clients", json={"id": "h", "secret": "${HOME_SECRET}"}), 422)
    assert "IDP_EMULATOR_" in outside["detail"]
    assert problem(requests.put(url + "/api/clients/a", json={"id": "b"}), 422)["field"] == "id"
    assert problem(requests.put(url + "/api/clients/from-file", json={}), 409)["title"] == "Client in the configuration"
    assert problem(requests.delete(url + "/api/clients/from-file"), 409)["field"] == "client"
    assert problem(requests.get(url + "/api/users/nobody"), 404)["field"] == "user"
    requests.post(url + "/api/users", json={"username": "twice"})
    assert problem(requests.post(url + "/api/users", json={"username": "twice"}), 409)["field"] == "username"
    malformed = requests.post(url + "/api/users", data="{", headers={"Content-Type": "application/json"})
    assert problem(malformed, 400)["title"] == "Malformed JSON"
    short = problem(requests.post(url + "/api/clients", json={"id": "s", "secret": ""}), 422)
    assert short["field"] == "secret"
