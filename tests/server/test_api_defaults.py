"""The API's defaults are the command line's, and it refuses what it does not understand.

Two runs without a seed get different event ids (a consumer that drops ids it saw would drop every
later run); a URL target is signed with the server's secret as `run --target URL` signs it; an
unknown parameter, a misspelled value, scenario or vendor is a 4xx naming the nearest valid one.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from api_helpers import finished, problem


async def sink(api, name: str) -> list[dict]:
    return (await (await api.get(f"/api/sinks/{name}")).json())["requests"]


async def test_two_runs_without_a_seed_send_different_event_ids(api):
    body = {"scenario": "login", "vendor": "keycloak", "time_scale": 0}
    seeds = []
    for name in ("first", "second"):
        answer = await (
            await api.post("/api/runs", json={**body, "targets": [str(api.make_url(f"/sink/{name}"))]})
        ).json()
        seeds.append(answer["seed"])
        assert (await finished(api, answer["run"]))["seed"] == answer["seed"]  # reported, so it can be replayed
    first = {r["body"]["id"] for r in await sink(api, "first")}
    second = {r["body"]["id"] for r in await sink(api, "second")}
    assert first and second and not first & second and seeds[0] != seeds[1]


async def test_a_url_target_is_signed_with_the_servers_secret(api, monkeypatch):
    monkeypatch.setenv("IDP_EMULATOR_SECRET", "server-side-secret")
    body = {"scenario": "login", "vendor": "keycloak", "time_scale": 0, "targets": [str(api.make_url("/sink/s"))]}
    await finished(api, (await (await api.post("/api/runs", json=body)).json())["run"])
    arrived = await sink(api, "s")
    assert arrived
    for request in arrived:  # the Keycloak extension's recipe: a hex HMAC-SHA256 of the exact body
        raw = json.dumps(request["body"], ensure_ascii=False, separators=(",", ":")).encode()
        expected = hmac.new(b"server-side-secret", raw, hashlib.sha256).hexdigest()
        assert request["headers"]["X-Keycloak-Signature"] == expected


@pytest.mark.parametrize(
    ("url", "field", "words"),
    [
        ("/api/events?usr=x", "usr", "did you mean 'user'?"),
        ("/api/deliveries?status=faild", "status", "did you mean 'failed'?"),
        ("/api/deliveries?stat=failed", "stat", "did you mean 'status'?"),
        ("/api/events?vendor=keycloack", "vendor", "did you mean 'keycloak'?"),
        ("/api/runs?limit=5", "limit", "expected: none"),
    ],
)
async def test_what_the_api_does_not_understand_is_a_400_naming_the_nearest(api, url, field, words):
    found = await problem(await api.get(url), 400, field)
    assert words in found["detail"]


async def test_misspelled_scenarios_and_vendors_get_a_suggestion(api):
    body = {"scenario": "lgin", "vendor": "keycloak", "targets": ["http://127.0.0.1:9/"]}
    assert "did you mean 'login'?" in (await problem(await api.post("/api/runs", json=body), 422, "scenario"))["detail"]
    body = {"scenario": "login", "vendor": "keycloack", "targets": ["http://127.0.0.1:9/"]}
    assert (
        "did you mean 'keycloak'?" in (await problem(await api.post("/api/runs", json=body), 422, "vendor"))["detail"]
    )
    assert "did you mean 'keycloak'?" in (await problem(await api.get("/api/vendors/keycloack"), 404))["detail"]


async def test_user_matches_the_email_the_username_or_the_id(api):
    yaml = "name: u\nactors: {alice: {username: alice.s, email: alice@example.com, id: u-1}}\nsteps: [{login: alice}]\n"
    body = {"yaml": yaml, "vendor": "keycloak", "time_scale": 0, "targets": [str(api.make_url("/sink/u"))]}
    await finished(api, (await (await api.post("/api/runs", json=body)).json())["run"])
    for who in ("alice@example.com", "alice.s", "u-1", "alice"):
        events = (await (await api.get("/api/events", params={"user": who})).json())["events"]
        assert events and all(e["username"] == "alice.s" for e in events), who
