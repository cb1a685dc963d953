"""Saved targets through the API: create, list, change, delete, test; secrets go in and never come out."""

from __future__ import annotations

import asyncio
import base64
import json

import jwt
import pytest
from api_helpers import finished, problem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from standardwebhooks.webhooks import Webhook

from emulator.delivery.config import Config
from emulator.server.app import make_app
from emulator.server.service import Service
from emulator.store import Store

SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes....").decode()


@pytest.fixture
async def api(aiohttp_client, registry, tmp_path):
    service = Service(Store(tmp_path / "emulator.db"), registry)
    client = await aiohttp_client(make_app(service))
    client.service = service
    yield client
    await service.close()


def signed(url: str, name: str = "shop", secret: str = SECRET, **more) -> dict:
    scheme = {"scheme": "standard-webhooks", "secret": secret}
    # signed for the wall clock: the consumer library checks a 5-minute tolerance, and a run's scenario
    # time runs ahead of it when the time scale is 0
    return {"name": name, "url": url, "vendor": "keycloak", "signing": scheme, "signed_time": "now", **more}


async def sink(api, name: str) -> list[dict]:
    return (await (await api.get(f"/api/sinks/{name}")).json())["requests"]


def verify(request: dict, secret: str = SECRET) -> dict:
    """What the consumer's standardwebhooks library makes of a recorded request (raises when unsigned)."""
    raw = json.dumps(request["body"], ensure_ascii=False, separators=(",", ":"))
    return Webhook(secret).verify(raw, request["headers"])


async def test_create_list_get_and_secrets_never_come_back(api):
    created = await api.post("/api/targets", json=signed(str(api.make_url("/sink/shop"))))
    assert created.status == 201 and created.headers["Location"] == "/api/targets/shop"
    listed = (await (await api.get("/api/targets")).json())["targets"]
    assert [t["name"] for t in listed] == ["shop"] and listed[0]["source"] == "api" and listed[0]["needs"] == []
    one = await api.get("/api/targets/shop")
    text = await one.text()
    assert SECRET not in text and SECRET[6:] not in text
    assert (await one.json())["config"]["signing"] == {"scheme": "standard-webhooks", "secret": "<hidden>"}
    stored = api.service.store.db.execute("SELECT config FROM saved_targets").fetchone()[0]
    assert SECRET[6:] not in stored  # the store keeps no literal secret either
    await problem(await api.post("/api/targets", json=signed("http://127.0.0.1:9/")), 409, "name")
    await problem(await api.get("/api/targets/nope"), 404, "name")


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"url": "http://x.test/"}, 422, "name", "name"),
        ({"name": "../up", "url": "http://x.test/", "vendor": "keycloak"}, 422, "name", "name"),
        ({"name": "a", "url": "http://x.test/"}, 422, "vendor", "vendor"),
        ({"name": "a", "url": "http://x.test/", "vendor": "no-such-idp"}, 422, "", "no-such-idp"),
        ({"name": "a", "url": "ftp://x.test/", "vendor": "keycloak"}, 422, "", "http"),
        (
            {"name": "a", "url": "http://x.test/", "vendor": "keycloak", "retri": "none"},
            422,
            "",
            "did you mean 'retry'",
        ),
        (
            {"name": "a", "url": "http://x.test/", "vendor": "keycloak", "concurrency": "8"},
            422,
            "concurrency",
            "integer",
        ),
        ({"name": "a", "url": "http://x.test/${HOME}", "vendor": "keycloak"}, 422, "", "IDP_EMULATOR_"),
        ({"name": "a", "url": "http://x.test/", "vendor": "keycloak", "headers": {"X": "a\r\nb"}}, 422, "", "header"),
        ([1, 2], 422, None, "object"),
    ],
)
async def test_bad_targets_are_problems(api, body, status, field, words):
    found = await problem(await api.post("/api/targets", json=body), status)
    assert words in found["detail"]
    if field:
        assert found["field"] == field
    assert (await (await api.get("/api/targets")).json())["targets"] == []


async def test_environment_references_the_api_may_use(api, monkeypatch):
    url = str(api.make_url("/sink/env"))
    await problem(await api.post("/api/targets", json=signed(url, secret="${IDP_EMULATOR_UNSET}")), 422)
    monkeypatch.setenv("IDP_EMULATOR_SHOP_SECRET", SECRET)
    response = await api.post("/api/targets", json=signed(url, secret="${IDP_EMULATOR_SHOP_SECRET}"))
    assert response.status == 201
    assert (await response.json())["config"]["signing"]["secret"] == "${IDP_EMULATOR_SHOP_SECRET}"


async def test_a_patch_changes_what_it_names_and_keeps_the_secret(api):
    await api.post("/api/targets", json=signed(str(api.make_url("/sink/new"))))
    patched = await api.patch("/api/targets/shop", json={"events": ["LOG*"]})
    assert patched.status == 200, await patched.text()
    run = await api.post(
        "/api/runs", json={"scenario": "login", "vendor": "keycloak", "targets": ["shop"], "time_scale": 0}
    )
    await finished(api, (await run.json())["run"])
    arrived = await sink(api, "new")
    assert [r["body"]["type"] for r in arrived] == ["access.LOGIN", "access.LOGOUT"]  # the events filter holds
    assert all(verify(r)["id"] == r["body"]["id"] for r in arrived)  # still signed with the first secret
    removed = await api.patch("/api/targets/shop", json={"events": None})
    assert "events" not in (await removed.json())["config"]
    await problem(await api.patch("/api/targets/shop", json={"name": "other"}), 422, "name")
    await problem(await api.patch("/api/targets/shop", json={"url": "nowhere"}), 422)
    await problem(await api.patch("/api/targets/shop"), 422)
    await problem(await api.patch("/api/targets/ghost", json={"url": "http://x.test/"}), 404, "name")
    assert (await (await api.get("/api/targets/shop")).json())["url"].endswith("/sink/new")  # refusals changed nothing


async def test_a_run_without_targets_goes_to_the_vendors_saved_targets(api):
    await api.post("/api/targets", json=signed(str(api.make_url("/sink/a")), name="a"))
    await api.post("/api/targets", json=signed(str(api.make_url("/sink/b")), name="b"))
    fusion = {"name": "f", "url": str(api.make_url("/sink/f")), "vendor": "fusionauth"}
    assert (await api.post("/api/targets", json=fusion)).status == 201
    run = await api.post("/api/runs", json={"scenario": "login", "vendor": "keycloak", "time_scale": 0})
    body = await finished(api, (await run.json())["run"])
    assert body["deliveries"]["delivered"] == 6
    assert len(await sink(api, "a")) == len(await sink(api, "b")) == 3 and await sink(api, "f") == []
    mixed = {"scenario": "login", "vendor": "keycloak", "targets": ["f"]}
    await problem(await api.post("/api/runs", json=mixed), 422, "targets")
    none = {"scenario": "login", "vendor": "idaas", "time_scale": 0}
    await problem(await api.post("/api/runs", json=none), 422, "targets")


async def test_the_test_event_is_the_types_example_signed_and_not_recorded(api):
    await api.post("/api/targets", json=signed(str(api.make_url("/sink/t"))))
    first = await (await api.post("/api/targets/shop/test")).json()
    assert first["ok"] is True and first["status"] == 200 and first["type"] == "LOGIN"
    second = await (await api.post("/api/targets/shop/test", json={"type": "LOGIN_ERROR"})).json()
    arrived = await sink(api, "t")
    assert [verify(r)["type"] for r in arrived] == ["access.LOGIN", "access.LOGIN_ERROR"]
    assert [r["body"]["id"] for r in arrived] == [first["event_id"], second["event_id"]]  # a fresh id each time
    assert arrived[1]["body"]["error"]
    # your own body, signed with your secret, is a signing oracle for whoever can call the API: token only
    await problem(await api.post("/api/targets/shop/test", json={"body": {"hello": "world"}}), 403, "body")
    assert len(await sink(api, "t")) == 2
    assert (await (await api.get("/api/events")).json())["events"] == []  # tests are not events
    await problem(await api.post("/api/targets/shop/test", json={"type": "user.login.success"}), 422, "type")
    await problem(await api.post("/api/targets/shop/test", json={"body": "text"}), 422, "body")
    await problem(await api.post("/api/targets/ghost/test"), 404, "name")


async def test_a_test_with_your_own_body_needs_the_token(aiohttp_client, registry):
    service = Service(Store(), registry, token="t0ken")
    api = await aiohttp_client(make_app(service))
    auth = {"Authorization": "Bearer t0ken"}
    await api.post("/api/targets", json=signed(str(api.make_url("/sink/t?token=t0ken"))), headers=auth)
    own = await (await api.post("/api/targets/shop/test", json={"body": {"hello": "world"}}, headers=auth)).json()
    assert own["ok"]
    arrived = (await (await api.get("/api/sinks/t", headers=auth)).json())["requests"]
    assert arrived[-1]["body"] == {"hello": "world"} and verify(arrived[-1]) == {"hello": "world"}
    assert arrived[-1]["path"] == "/sink/t?token=%3Credacted%3E"  # the sink does not show the token it took
    await service.close()


async def test_a_test_reports_a_receiver_that_fails(api):
    await api.post("/api/targets", json=signed("http://127.0.0.1:9/", name="down"))
    answer = await (await api.post("/api/targets/down/test")).json()
    assert answer["ok"] is False and answer["status"] is None and answer["error"]


async def test_delete(api):
    await api.post("/api/targets", json=signed(str(api.make_url("/sink/d"))))
    assert (await (await api.delete("/api/targets/shop")).json()) == {"name": "shop", "deleted": True}
    await problem(await api.delete("/api/targets/shop"), 404, "name")
    assert api.service.store.saved_targets() == []


async def test_config_targets_are_listed_and_read_only(aiohttp_client, registry):
    config = Config(targets=[{"name": "from-file", "url": "http://127.0.0.1:9/", "vendor": "idaas"}])
    service = Service(Store(), registry, config=config)
    api = await aiohttp_client(make_app(service))
    listed = (await (await api.get("/api/targets")).json())["targets"]
    assert [(t["name"], t["source"]) for t in listed] == [("from-file", "config")]
    await problem(await api.patch("/api/targets/from-file", json={"url": "http://x.test/"}), 409)
    await problem(await api.delete("/api/targets/from-file"), 409)
    await service.close()


async def test_after_a_restart_a_literal_secret_is_asked_for_again(aiohttp_client, registry, tmp_path, monkeypatch):
    path = tmp_path / "emulator.db"
    monkeypatch.setenv("IDP_EMULATOR_SHOP_SECRET", SECRET)
    first = Service(Store(path), registry)
    api = await aiohttp_client(make_app(first))
    url = str(api.make_url("/sink/r"))
    assert (await api.post("/api/targets", json=signed(url, name="literal"))).status == 201
    assert (
        await api.post("/api/targets", json=signed(url, name="env", secret="${IDP_EMULATOR_SHOP_SECRET}"))
    ).status == 201
    await first.close()
    first.store.close()

    second = Service(Store(path), registry)
    api = await aiohttp_client(make_app(second))
    api.service = second
    views = {t["name"]: t for t in (await (await api.get("/api/targets")).json())["targets"]}
    assert views["literal"]["needs"] == ["signing.secret"] and views["env"]["needs"] == []
    body = {"scenario": "login", "vendor": "keycloak", "targets": ["literal"], "time_scale": 0}
    found = await problem(await api.post("/api/runs", json=body), 409, "targets")
    assert "PATCH" in found["detail"]
    await problem(await api.post("/api/targets/literal/test"), 409)
    url = str(api.make_url("/sink/r"))  # this server's port
    assert (await api.patch("/api/targets/literal", json={"signing": {"secret": SECRET}, "url": url})).status == 200
    assert (await api.patch("/api/targets/env", json={"url": url})).status == 200
    run = await api.post("/api/runs", json={**body, "targets": ["literal", "env"]})
    await finished(api, (await run.json())["run"])
    assert all(verify(r) for r in await sink(api, "r")) and len(await sink(api, "r")) == 6
    await second.close()


async def test_an_rsa_signing_key_is_published_in_the_jwks(api, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    spec = {"name": "fa", "url": str(api.make_url("/sink/fa")), "vendor": "fusionauth", "signing": {"secret": pem}}
    # a caller's own key in the JWKS consumers trust would let them sign webhooks: a literal key needs the token
    await problem(await api.post("/api/targets", json=spec), 403, "signing.secret")
    run = {"scenario": "login", "vendor": "fusionauth", "targets": [spec]}
    await problem(await api.post("/api/runs", json=run), 403, "targets[0].signing.secret")
    assert (await (await api.get("/.well-known/jwks.json")).json())["keys"] == []
    monkeypatch.setenv("IDP_EMULATOR_FA_KEY", pem)  # the developer's own key, from the server's environment
    spec["signing"] = {"secret": "${IDP_EMULATOR_FA_KEY}"}
    assert (await api.post("/api/targets", json=spec)).status == 201
    assert "PRIVATE" not in await (await api.get("/api/targets/fa")).text()
    keys = (await (await api.get("/.well-known/jwks.json")).json())["keys"]
    assert len(keys) == 1
    await api.post("/api/targets/fa/test")
    request = (await sink(api, "fa"))[0]
    token = request["headers"]["X-FusionAuth-Signature-JWT"]
    public = jwt.PyJWK(keys[0]).key
    claims = jwt.decode(token, public, algorithms=["RS256"])
    raw = json.dumps(request["body"], ensure_ascii=False, separators=(",", ":")).encode()
    import hashlib

    assert claims["request_body_sha256"] == base64.b64encode(hashlib.sha256(raw).digest()).decode()


async def test_replay_every_failed_delivery_since_a_time(api):
    body = {"scenario": "login", "vendor": "keycloak", "time_scale": 0}
    body["targets"] = [{"name": "down", "url": "http://127.0.0.1:9/", "retry": "none"}]
    run_id = (await (await api.post("/api/runs", json=body)).json())["run"]
    assert (await finished(api, run_id))["deliveries"]["failed"] == 3
    future = await (await api.post("/api/replay", json={"since": "2999-01-01T00:00:00Z"})).json()
    assert future == {"queued": 0, "runs": {}, "skipped": {}}
    answer = await api.post("/api/replay", json={"since": "1h", "target": "down"})
    assert answer.status == 202
    assert (await answer.json())["runs"] == {run_id: 3}
    again = await (await api.post("/api/replay", json={"run": run_id})).json()
    assert again["queued"] == 0 and "still delivering" in again["skipped"][run_id]  # not queued twice
    await asyncio.gather(*api.service.tasks)
    attempts = [d["attempts"] for d in api.service.store.deliveries(run_id)]
    assert attempts == [2, 2, 2]
    await problem(await api.post("/api/replay", json={"since": "last week"}), 422, "since")
    await problem(await api.post("/api/replay", json={"run": "nope"}), 404, "run")
    await problem(await api.post("/api/replay", json={"when": "1h"}), 422, "when")


async def test_a_secret_goes_only_where_it_was_given_for(api):
    await api.post("/api/targets", json=signed(str(api.make_url("/sink/victim"))))
    evil = str(api.make_url("/sink/evil"))
    leak = {"url": evil, "signing": {"scheme": "header", "header": "X-Leak"}}
    found = await problem(await api.patch("/api/targets/shop", json=leak), 422, "signing.secret")
    assert "again" in found["detail"]
    await problem(await api.patch("/api/targets/shop", json={"url": evil}), 422, "signing.secret")
    await problem(await api.patch("/api/targets/shop", json={"signing": {"scheme": "header"}}), 422)
    assert (await (await api.get("/api/targets/shop")).json())["url"].endswith("/sink/victim")
    await api.post("/api/targets/shop/test")
    assert await sink(api, "evil") == []
    moved = await api.patch("/api/targets/shop", json={"url": evil, "signing": {"secret": SECRET}})
    assert moved.status == 200  # given again with the move: fine
    same_place = await api.patch("/api/targets/shop", json={"url": evil + "?x=1", "events": ["LOG*"]})
    assert same_place.status == 200  # the same place keeps its secret


def _nested(depth: int) -> dict:
    node: dict = {}
    for _ in range(depth):
        node = {"x": node}
    return node


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"vendor": "idaas", "signing": {"scheme": "idaas", "secret": "s" * 32, "key_id": "a\r\nX-Evil: 1"}}, "key_id"),
        ({"url": "http://xn--/"}, "not a URL"),
        ({"signing": {"scheme": "standard-webhooks", "secret": "<hidden>"}}, "<hidden>"),
        ({"vendor": "fusionauth", "signing": {"scheme": "fusionauth-jwt", "algorithm": "RS256", "secret": "nope"}}, ""),
        ({"headers": {"X-Token": "${IDP_EMULATOR_TOKEN}"}}, "IDP_EMULATOR_TOKEN"),
        ({"faults": [{"delay": _nested(200)}]}, "nests"),
    ],
)
async def test_targets_that_would_harm_are_refused_and_not_kept(api, change, words):
    spec = {**signed("http://127.0.0.1:9/"), **change}
    found = await problem(await api.post("/api/targets", json=spec), 422)
    assert words in found["detail"]
    assert (await (await api.get("/api/targets")).json())["targets"] == []


async def test_a_body_nested_thousands_deep_is_a_problem_not_a_crash(api):
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    headers = {"Content-Type": "application/json"}
    for method, path in (("POST", "/api/targets"), ("POST", "/api/replay"), ("PATCH", "/api/targets/x")):
        response = await api.request(method, path, data=deep, headers=headers)
        assert response.status == 400, (path, await response.text())


async def test_a_target_pointed_at_its_own_test_does_not_call_itself_for_ever(aiohttp_client, registry):
    service = Service(Store(), registry, token="t0ken")
    api = await aiohttp_client(make_app(service))
    auth = {"Authorization": "Bearer t0ken"}
    spec = signed(str(api.make_url("/api/targets/loop/test")), name="loop", headers=auth)
    await api.post("/api/targets", json=spec, headers=auth)
    answer = await (await api.post("/api/targets/loop/test", json={"body": {}}, headers=auth)).json()
    assert answer["status"] == 409  # the nested test was refused, and the first one ended
    await service.close()


async def test_replay_goes_on_past_a_run_it_cannot_send(api):
    down = [{"name": "down", "url": "http://127.0.0.1:9/", "retry": "none"}]
    secret = [{**down[0], "signing": {"scheme": "standard-webhooks", "secret": SECRET}}]
    runs = []
    for targets in (secret, down):
        body = {"scenario": "login", "vendor": "keycloak", "time_scale": 0, "targets": targets}
        runs.append((await (await api.post("/api/runs", json=body)).json())["run"])
        await finished(api, runs[-1])
    del api.service.runs[runs[0]]  # forgotten: its literal secret is gone
    answer = await (await api.post("/api/replay", json={})).json()
    assert answer["runs"] == {runs[1]: 3} and "given literally" in answer["skipped"][runs[0]]


async def test_a_bearer_reference_survives_a_restart(aiohttp_client, registry, tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_EMULATOR_TOK", "abc")
    path = tmp_path / "emulator.db"
    config = Config(plaintext_secrets={"IDP_EMULATOR_TOK": ["http://127.0.0.1:9/"]})
    first = Service(Store(path), registry, config=config)
    api = await aiohttp_client(make_app(first))
    spec = {"name": "t", "url": "http://127.0.0.1:9/", "vendor": "keycloak"}
    spec["headers"] = {"Authorization": "Bearer ${IDP_EMULATOR_TOK}"}
    assert (await api.post("/api/targets", json=spec)).status == 201
    await first.close()
    first.store.close()
    second = Service(Store(path), registry, config=config)
    assert second.saved.items["t"].view()["needs"] == []
    await second.close()


async def test_a_url_with_a_token_is_asked_for_again_after_a_restart(aiohttp_client, registry, tmp_path):
    path = tmp_path / "emulator.db"
    first = Service(Store(path), registry)
    api = await aiohttp_client(make_app(first))
    spec = {"name": "t", "url": "http://127.0.0.1:9/hook?token=abc", "vendor": "keycloak"}
    assert (await api.post("/api/targets", json=spec)).status == 201
    await first.close()
    first.store.close()
    second = Service(Store(path), registry)
    api = await aiohttp_client(make_app(second))
    changed = await (await api.patch("/api/targets/t", json={"events": ["LOGIN"]})).json()
    assert changed["needs"] == ["url"] and changed["config"]["events"] == ["LOGIN"]  # other changes still go in
    await problem(await api.patch("/api/targets/t", json={"headers": {"X": "<hidden>"}}), 422)
    again = await (await api.patch("/api/targets/t", json={"url": "http://127.0.0.1:9/hook?token=def"})).json()
    assert again["needs"] == []
    await second.close()


async def test_a_forgotten_run_is_resent_with_its_saved_targets_secret_after_a_change_elsewhere(api):
    spec = signed("http://127.0.0.1:9/", name="down", retry="none")
    assert (await api.post("/api/targets", json=spec)).status == 201
    body = {"scenario": "login", "vendor": "keycloak", "time_scale": 0, "targets": ["down"]}
    run_id = (await (await api.post("/api/runs", json=body)).json())["run"]
    assert (await finished(api, run_id))["deliveries"]["failed"] == 3
    del api.service.runs[run_id]  # forgotten: only the store and the saved target remain
    assert (
        await api.patch("/api/targets/down", json={"events": ["LOGIN"], "retry": "standard-webhooks"})
    ).status == 200
    answer = await (await api.post("/api/replay", json={"run": run_id})).json()
    assert answer["runs"] == {run_id: 3}  # the same place and signing: its secret still fits
    await asyncio.gather(*api.service.tasks)
    assert [d["attempts"] for d in api.service.store.deliveries(run_id)] == [2, 2, 2]  # the run's own retry: none
    moved = {"url": "http://127.0.0.1:10/", "signing": {"secret": SECRET}}
    assert (await api.patch("/api/targets/down", json=moved)).status == 200
    again = await (await api.post("/api/replay", json={"run": run_id})).json()
    assert again["queued"] == 0 and "given literally" in again["skipped"][run_id]  # elsewhere now: not sent


async def test_a_resend_needs_the_secrets_of_only_the_targets_it_sends_to(api):
    plain = {"name": "plain", "url": "http://127.0.0.1:9/", "retry": "none"}
    literal = {**plain, "name": "literal", "signing": {"scheme": "standard-webhooks", "secret": SECRET}}
    body = {"scenario": "login", "vendor": "keycloak", "time_scale": 0, "targets": [plain, literal]}
    run_id = (await (await api.post("/api/runs", json=body)).json())["run"]
    assert (await finished(api, run_id))["deliveries"]["failed"] == 6
    del api.service.runs[run_id]  # forgotten: the literal secret is gone
    refused = await (await api.post("/api/replay", json={"run": run_id, "target": "literal"})).json()
    assert refused["queued"] == 0 and "given literally" in refused["skipped"][run_id]
    answer = await (await api.post("/api/replay", json={"run": run_id, "target": "plain"})).json()
    assert answer["runs"] == {run_id: 3}
    await asyncio.gather(*api.service.tasks)
    attempts = {(d["target"], d["attempts"]) for d in api.service.store.deliveries(run_id)}
    assert attempts == {("plain", 2), ("literal", 1)}


async def test_a_run_target_is_checked_like_a_saved_one(api):
    bad_key = {"scheme": "fusionauth-jwt", "algorithm": "RS256", "secret": "nope"}
    body = {"scenario": "login", "vendor": "fusionauth", "time_scale": 0}
    body["targets"] = [{"url": "http://127.0.0.1:9/", "signing": bad_key}]
    found = await problem(await api.post("/api/runs", json=body), 422, "targets[0]")
    assert found["title"] == "Invalid target" and "PEM" in found["detail"]
    assert api.service.runs == {}  # nothing started


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"headers": {"X-Api-Key": "${IDP_EMULATOR_AUDIT}"}}, "headers.X-Api-Key"),
        ({"basic_auth": {"username": "u", "password": "${IDP_EMULATOR_AUDIT}"}}, "basic_auth.password"),
        ({"signing": {"scheme": "header", "header": "X-Key", "secret": "${IDP_EMULATOR_AUDIT}"}}, "signing.secret"),
        ({"url": "https://evil.example/?t=${IDP_EMULATOR_AUDIT}"}, "url"),
    ],
)
async def test_a_variable_goes_in_the_clear_only_where_the_config_file_says(
    aiohttp_client, registry, monkeypatch, change, where
):
    monkeypatch.setenv("IDP_EMULATOR_AUDIT", "audit-secret-value")
    config = Config(plaintext_secrets={"IDP_EMULATOR_AUDIT": ["https://audit.internal/hooks/"]})
    service = Service(Store(), registry, config=config)
    api = await aiohttp_client(make_app(service))
    evil = {"name": "x", "url": "https://evil.example/hook", "vendor": "keycloak", **change}
    found = await problem(await api.post("/api/targets", json=evil), 422, where)
    assert found["title"] == "Secret sent in the clear" and "audit-secret-value" not in json.dumps(found)
    run = {"scenario": "login", "vendor": "keycloak", "targets": [evil]}
    await problem(await api.post("/api/runs", json=run), 422, f"targets[0].{where}")
    if where != "url":  # the same variable to where the file binds it is fine
        good = {**evil, "url": "https://audit.internal/hooks/idp"}
        assert (await api.post("/api/targets", json=good)).status == 201
    assert service.runs == {}
    await service.close()


@pytest.mark.parametrize(
    "change",
    [
        {"headers": {"X-Api-Key": "Sup3rSecretValue\r\nX-Other: 1"}},
        {"signing": {"scheme": "header", "header": "X-Key", "value": "Sup3rSecretValue\n"}},
        {"url": "http://127.0.0.1:9/a b?token=Sup3rSecretValue"},
        {"basic_auth": {"username": "u", "password": 31415926}},
        {"signing": {"scheme": "fusionauth-jwt", "algorithm": "RS256", "secret": "Sup3rSecretValue"}},
    ],
)
async def test_a_refused_target_is_explained_without_its_secret(api, change):
    spec = {"name": "x", "url": "http://127.0.0.1:9/", "vendor": "keycloak", **change}
    found = await problem(await api.post("/api/targets", json=spec), 422)
    text = json.dumps(found)
    assert "Sup3rSecretValue" not in text and "31415926" not in text and found["detail"]
