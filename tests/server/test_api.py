"""The REST API through a real aiohttp test client: every route, its answers and its refusals."""

from __future__ import annotations

import json

import pytest
from api_helpers import finished, problem

from emulator.server.app import make_app
from emulator.server.service import Service
from emulator.store import Store
from emulator.vendors.registry import Registry


async def start(client, **body) -> str:
    sink = str(client.make_url("/sink/t"))
    payload = {"scenario": "login", "vendor": "keycloak", "targets": [sink], "time_scale": 0, **body}
    response = await client.post("/api/runs", json=payload)
    assert response.status == 202, await response.text()
    return (await response.json())["run"]


async def test_health_ready_vendors_and_scenarios(api):
    assert (await (await api.get("/api/health")).json())["status"] == "ok"
    assert (await (await api.get("/api/ready")).json())["status"] == "ready"
    names = [v["name"] for v in (await (await api.get("/api/vendors")).json())["vendors"]]
    assert names == Registry().names  # every vendor folder, in order
    catalog = await (await api.get("/api/vendors/fusionauth")).json()
    kinds = {e["type"]: e for e in catalog["vendors"][0]["event_types"]}
    assert kinds["user.login.success"]["example"]["event"]["type"] == "user.login.success"
    assert all("example" in e for e in kinds.values())
    await problem(await api.get("/api/vendors/no-such-idp"), 404, "vendor")
    scenarios = [s["name"] for s in (await (await api.get("/api/scenarios")).json())["scenarios"]]
    assert "sso-first-login" in scenarios
    assert "login:" in (await (await api.get("/api/scenarios/login")).json())["yaml"]
    await problem(await api.get("/api/scenarios/../../etc/passwd"), 404)


async def test_validate(api):
    ok = await api.post("/api/validate", json={"yaml": "name: x\nactors: {a: {}}\nsteps:\n  - login: a\n"})
    assert (await ok.json()) == {"valid": True, "problems": []}
    bad = await (await api.post("/api/validate", json={"yaml": "name: x\nsteps:\n  - lgin: a\n"})).json()
    assert bad["valid"] is False and any("did you mean 'login'" in p for p in bad["problems"])
    await problem(await api.post("/api/validate", json={}), 422, "yaml")
    await problem(await api.post("/api/validate", json={"yaml": 5}), 422, "yaml")


async def test_a_run_end_to_end_to_a_sink(api):
    run_id = await start(api, seed=3)
    body = await finished(api, run_id)
    assert body["status"] == "finished" and body["deliveries"]["delivered"] == 3 and body["events"] == 3
    sink = (await (await api.get("/api/sinks/t")).json())["requests"]
    assert [r["body"]["type"] for r in sink] == ["access.LOGIN", "access.CODE_TO_TOKEN", "access.LOGOUT"]
    listed = (await (await api.get("/api/runs")).json())["runs"]
    assert listed[0]["run"] == run_id
    events = (await (await api.get("/api/events", params={"run": run_id, "type": "LOGIN"})).json())["events"]
    assert len(events) == 1 and events[0]["body"]["id"] == events[0]["event_id"]
    page = await (await api.get("/api/events", params={"limit": 2})).json()
    assert len(page["events"]) == 2 and page["next"] == page["events"][-1]["id"]
    rest = await (await api.get("/api/events", params={"after": page["next"]})).json()
    assert len(rest["events"]) == 1 and rest["next"] is None
    deliveries = (await (await api.get("/api/deliveries", params={"run": run_id})).json())["deliveries"]
    assert [d["status"] for d in deliveries] == ["delivered"] * 3
    one = await (await api.get(f"/api/deliveries/{deliveries[0]['id']}")).json()
    assert one["attempt_log"][0]["status"] == 200 and json.loads(one["attempt_log"][0]["response_body"])


async def test_inline_yaml_and_transactions(api):
    yaml = "name: inline\nactors: {a: {}}\nsteps:\n  - login: a\n    transaction: Any\n"
    run_id = await start(
        api,
        scenario=None,
        yaml=yaml,
        vendor="fusionauth",
        targets=[{"url": "http://127.0.0.1:9/none", "retry": "none"}],
    )
    body = await finished(api, run_id)
    assert body["transactions"][0]["committed"] is False and body["deliveries"]["failed"] == 1


async def test_resend_a_failed_delivery(api):
    run_id = await start(api, targets=[{"url": "http://127.0.0.1:9/refused", "retry": "none"}])
    await finished(api, run_id)
    failed = (await (await api.get("/api/deliveries", params={"status": "failed"})).json())["deliveries"]
    assert len(failed) == 3
    response = await api.post(f"/api/deliveries/{failed[0]['id']}/resend")
    assert response.status == 202
    await problem(await api.post(f"/api/deliveries/{failed[0]['id']}/resend"), 409)
    await problem(await api.post("/api/deliveries/999999/resend"), 404, "delivery")
    await problem(await api.get("/api/deliveries/abc"), 400, "delivery")
    await problem(await api.get("/api/deliveries/999999"), 404, "delivery")


async def test_cancel(api):
    run_id = await start(
        api, scenario="brute-force", time_scale=1, targets=[{"url": str(api.make_url("/sink/c")), "concurrency": 1}]
    )
    response = await api.post(f"/api/runs/{run_id}/cancel")
    assert response.status == 202
    body = await (await api.get(f"/api/runs/{run_id}")).json()
    assert body["run"] == run_id
    await problem(await api.post("/api/runs/run_nope/cancel"), 404, "run")
    await problem(await api.get("/api/runs/run_nope"), 404, "run")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"vendor": "keycloak", "targets": ["http://x/"]}, 422, "scenario"),
        ({"scenario": "login", "yaml": "x", "vendor": "keycloak", "targets": ["http://x/"]}, 422, "scenario"),
        ({"scenario": "nope", "vendor": "keycloak", "targets": ["http://x/"]}, 422, "scenario"),
        ({"scenario": "login", "targets": ["http://x/"]}, 422, "vendor"),
        ({"scenario": "login", "vendor": "no-such-idp", "targets": ["http://x/"]}, 422, "vendor"),
        ({"scenario": "login", "vendor": "keycloak"}, 422, "targets"),
        ({"scenario": "login", "vendor": "keycloak", "targets": []}, 422, "targets"),
        ({"scenario": "login", "vendor": "keycloak", "targets": ["ftp://x/"]}, 422, "targets[0]"),
        ({"scenario": "login", "vendor": "keycloak", "targets": [5]}, 422, "targets[0]"),
        ({"scenario": "login", "vendor": "keycloak", "targets": ["http://x/"], "seed": "one"}, 422, "seed"),
        ({"scenario": "login", "vendor": "keycloak", "targets": ["http://x/"], "seed": True}, 422, "seed"),
        ({"scenario": "login", "vendor": "keycloak", "targets": ["http://x/"], "time_scale": -1}, 422, "time_scale"),
        (
            {"scenario": "login", "vendor": "keycloak", "targets": ["http://x/"], "transaction": "Most"},
            422,
            "transaction",
        ),
        ({"yaml": "steps: [", "vendor": "keycloak", "targets": ["http://x/"]}, 422, "yaml"),
        ({"scenario": "login", "vendor": "keycloak", "targets": ["http://x/"], "retry": "none"}, 422, "retry"),
    ],
)
async def test_bad_run_requests_are_problems(api, body, status, field):
    await problem(await api.post("/api/runs", json=body), status, field)


async def test_malformed_and_oversized_bodies(api):
    await problem(await api.post("/api/runs", data=b"{not json", headers={"Content-Type": "application/json"}), 400)
    await problem(await api.post("/api/runs", json=[1, 2]), 422)
    big = b"x" * (2 * 1024 * 1024)
    await problem(await api.post("/api/runs", data=big, headers={"Content-Type": "application/json"}), 413)
    await problem(await api.get("/api/events", params={"limit": "lots"}), 400, "limit")
    await problem(await api.get("/api/events", params={"limit": "0"}), 400, "limit")
    await problem(await api.get("/api/nothing-here"), 404)


async def test_token(aiohttp_client, registry):
    service = Service(Store(), registry, token="s3cret")
    client = await aiohttp_client(make_app(service))
    await problem(await client.get("/api/health"), 401)
    await problem(await client.get("/api/health", headers={"Authorization": "Bearer wrong"}), 401)
    assert (await client.get("/api/health", headers={"Authorization": "Bearer s3cret"})).status == 200
    # with a token, a sink takes only webhooks that carry it (the header, or ?token= in the sink's URL)
    await problem(await client.post("/sink/s", json={}), 401)
    assert (await client.post("/sink/s?token=s3cret", json={})).status == 200
    assert (await client.post("/sink/s", json={}, headers={"Authorization": "Bearer s3cret"})).status == 200


async def test_openapi_describes_every_route(api):
    doc = await (await api.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    routes = {
        (r.method.lower(), r.resource.canonical)
        for r in api.app.router.routes()
        if r.method != "HEAD"
        and r.resource.canonical
        not in ("/api/openapi.json", "/.well-known/jwks.json", "/.well-known/ssf-configuration")
        and r.handler.__module__ not in ("emulator.server.page", "emulator.oidc.http")  # the console, the live IdP
    }
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented


async def test_jwks(api):
    body = await (await api.get("/.well-known/jwks.json")).json()
    assert body == {"keys": []}


async def test_live_stream_shows_events_and_attempts_as_they_happen(api):
    response = await api.get("/api/stream", params={"kind": "event", "type": "LOG*"})
    assert response.content_type == "text/event-stream"
    assert (await response.content.readline()).startswith(b": idp-emulator")
    run_id = await start(api)
    seen = []
    while len(seen) < 2:
        line = (await response.content.readline()).decode().strip()
        if line.startswith("data: "):
            seen.append(json.loads(line[6:]))
    assert [s["type"] for s in seen] == ["LOGIN", "LOGOUT"] and seen[0]["run"] == run_id
    response.close()
    await finished(api, run_id)
    await problem(await api.get("/api/stream", params={"kind": "nope"}), 400, "kind")


async def test_trigger_one_action(api):
    sink = str(api.make_url("/sink/trig"))
    body = {"action": "login", "vendor": "fusionauth", "targets": [sink], "error": "invalid_user_credentials",
            "actor": {"email": "mallory@example.com"}, "time_scale": 0}  # fmt: skip
    response = await api.post("/api/trigger", json=body)
    assert response.status == 202, await response.text()
    await finished(api, (await response.json())["run"])
    [request] = (await (await api.get("/api/sinks/trig")).json())["requests"]
    assert request["body"]["event"]["type"] == "user.login.failed"
    assert request["body"]["event"]["user"]["email"] == "mallory@example.com"
    await problem(await api.post("/api/trigger", json={**body, "action": "lgin"}), 422, "yaml")
    await problem(await api.post("/api/trigger", json={**body, "error": 5}), 422, "error")
    await problem(await api.post("/api/trigger", json={**body, "scenario": "login"}), 422, "action")


async def test_upload_run_and_delete_a_scenario(api):
    yaml = "name: mine\nactors: {a: {}}\nsteps:\n  - login: a\n"
    response = await api.put("/api/scenarios/mine", json={"yaml": yaml})
    assert response.status == 201
    listed = {s["name"]: s for s in (await (await api.get("/api/scenarios")).json())["scenarios"]}
    assert listed["mine"]["bundled"] is False and listed["login"]["bundled"] is True
    assert (await (await api.get("/api/scenarios/mine")).json())["yaml"] == yaml
    run_id = await start(api, scenario="mine")
    assert (await finished(api, run_id))["deliveries"]["delivered"] == 2
    await problem(await api.put("/api/scenarios/login", json={"yaml": yaml}), 409)
    await problem(await api.put("/api/scenarios/..%2Fescape", json={"yaml": yaml}), 422, "name")
    await problem(await api.put("/api/scenarios/Bad_Name", json={"yaml": yaml}), 422, "name")
    bad = await problem(await api.put("/api/scenarios/broken", json={"yaml": "steps: [lgin]"}), 422, "yaml")
    assert bad["problems"]
    await problem(await api.delete("/api/scenarios/login"), 409)
    assert (await api.delete("/api/scenarios/mine")).status == 200
    await problem(await api.delete("/api/scenarios/mine"), 404, "name")
    await problem(await api.get("/api/scenarios/mine"), 404, "name")


async def test_events_in_a_time_range(api):
    run_id = await start(api, scenario="login")  # logout 10 minutes after the login, in scenario time
    await finished(api, run_id)
    every = (await (await api.get("/api/events", params={"run": run_id})).json())["events"]
    logout = every[-1]["time"]
    early = (await (await api.get("/api/events", params={"run": run_id, "until": logout})).json())["events"]
    late = (await (await api.get("/api/events", params={"run": run_id, "since": logout})).json())["events"]
    assert [e["type"] for e in early] == ["LOGIN", "CODE_TO_TOKEN"] and [e["type"] for e in late] == ["LOGOUT"]
    await problem(await api.get("/api/events", params={"since": "yesterday"}), 400, "since")


async def test_events_filtered_like_the_console_by_user_ip_and_client(api):
    scenario = """
name: two-people
actors:
  alice: {email: alice@example.com, ip: 203.0.113.7}
  bob: {email: bob@example.com, ip: 198.51.100.9}
steps:
  - login: {actor: alice, client: shop}
  - login: {actor: bob, client: admin-console, error: invalid_user_credentials}
"""
    run_id = await start(api, yaml=scenario, scenario=None)
    await finished(api, run_id)

    async def types(**query) -> list[tuple[str, str]]:
        events = (await (await api.get("/api/events", params={"run": run_id, **query})).json())["events"]
        return [(e["type"], e["user"]) for e in events]

    alice = [("LOGIN", "alice@example.com"), ("CODE_TO_TOKEN", "alice@example.com")]
    assert await types(user="alice@example.com") == alice
    assert await types(user="alice") == alice  # the scenario's actor name works too
    assert await types(ip="198.51.100.9") == [("LOGIN_ERROR", "bob@example.com")]
    assert await types(client="shop") == alice
    assert await types(client="admin-console", error="invalid_user_credentials") == [("LOGIN_ERROR", "bob@example.com")]
    assert await types(ip="10.0.0.1") == []
    one = (await (await api.get("/api/events", params={"run": run_id, "user": "bob"})).json())["events"][0]
    details = one["body"]["authDetails"]
    assert one["ip"] == details["ipAddress"] == "198.51.100.9"
    assert one["client"] == details["clientId"] == "admin-console" and one["user_id"] == details["userId"]


async def test_a_vendor_release_in_runs_triggers_and_the_catalog(api):
    """``{name, version}`` or ``name@version``: the release's shapes (FusionAuth 1.45 has no linkedObjectId)."""
    sink = str(api.make_url("/sink/old"))
    versioned = {"name": "fusionauth", "version": "1.45"}
    run = await api.post(
        "/api/runs", json={"scenario": "login", "vendor": versioned, "targets": [sink], "time_scale": 0}
    )
    assert run.status == 202, await run.text()
    await finished(api, (await run.json())["run"])
    trigger = {"action": "login", "vendor": "fusionauth@1.45", "targets": [sink], "time_scale": 0}
    response = await api.post("/api/trigger", json=trigger)
    assert response.status == 202, await response.text()
    await finished(api, (await response.json())["run"])
    requests = (await (await api.get("/api/sinks/old")).json())["requests"]
    assert requests and all("linkedObjectId" not in r["body"]["event"] for r in requests)
    catalog = (await (await api.get("/api/vendors/fusionauth@1.45")).json())["vendors"][0]
    assert catalog["version"] == "1.45" and "user.identity.verified" not in {e["type"] for e in catalog["event_types"]}
    await problem(await api.get("/api/vendors/fusionauth@0.1"), 404, "vendor")
    bad = {"scenario": "login", "vendor": "fusionauth@9", "targets": [sink]}
    await problem(await api.post("/api/runs", json=bad), 422, "vendor")
