"""What the console page asks of the API: events newest first with where their deliveries stand,
one event, descriptions without examples, a delivery as a curl command, and attempts on the live
stream that say where their delivery stands."""

from __future__ import annotations

import json

from api_helpers import finished, problem

SECRET = "a-literal-secret-given-to-the-api"


async def start(client, scenario: str = "login", **target) -> str:
    sink = {"name": "sink", "url": str(client.make_url("/sink/console")), **target}
    body = {"scenario": scenario, "vendor": "keycloak", "targets": [sink], "time_scale": 0}
    response = await client.post("/api/runs", json=body)
    assert response.status == 202, await response.text()
    return (await response.json())["run"]


async def get(client, path: str, **query) -> dict:
    response = await client.get(path, params=query)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_events_newest_first_each_with_its_deliveries(api):
    first, second = await start(api), await start(api)
    await finished(api, first)
    await finished(api, second)
    page = await get(api, "/api/events", order="newest", limit="4")
    ids = [e["id"] for e in page["events"]]
    assert ids == [6, 5, 4, 3] and page["next"] == 3
    rest = await get(api, "/api/events", order="newest", limit="4", before=str(page["next"]))
    assert [e["id"] for e in rest["events"]] == [2, 1] and rest["next"] is None
    newer = await get(api, "/api/events", order="newest", after="4")  # what arrived since row 4
    assert [e["id"] for e in newer["events"]] == [6, 5]
    top = page["events"][0]
    assert top["run"] == second and [(d["target"], d["status"], d["attempts"]) for d in top["deliveries"]] == [
        ("sink", "delivered", 1)
    ]
    assert await get(api, f"/api/events/{top['id']}") == top
    await problem(await api.get("/api/events/999"), 404, "event")
    await problem(await api.get("/api/events/x1"), 400, "event")
    await problem(await api.get("/api/events", params={"order": "sideways"}), 400, "order")
    await problem(await api.get("/api/events", params={"before": "-1"}), 400)
    failed = await get(api, "/api/deliveries", order="newest", status="delivered", limit="1")
    assert failed["deliveries"][0]["id"] == 6 and failed["deliveries"][0]["event"] == 6 and failed["next"] == 6


async def test_descriptions_without_examples(api):
    catalog = await get(api, "/api/vendors/flip", examples="false")
    vendor = catalog["vendors"][0]
    assert all("example" not in e for e in vendor["event_types"])
    kinds = {e["type"]: e for e in vendor["event_types"]}
    assert kinds["LOGIN_SSO"]["doc"] == "A user was logged in through another Identity Provider."
    assert kinds["LOGIN_SSO_ERROR"]["failure"] is True and "failure" not in kinds["LOGIN_SSO"]
    assert vendor["error_codes"]["user_temporarily_disabled"]["doc"] == "The user is temporarily disabled"
    assert "example" in (await get(api, "/api/vendors/flip"))["vendors"][0]["event_types"][0]
    await problem(await api.get("/api/vendors/flip", params={"examples": "maybe"}), 400, "examples")


async def test_a_delivery_as_a_curl_command_signed_now_without_its_secret(api):
    run_id = await start(api, signing={"secret": SECRET})
    await finished(api, run_id)
    made = await get(api, "/api/deliveries/1/curl")
    assert made["delivery"] == 1 and made["target"] == "sink" and made["url"].endswith("/sink/console")
    assert (
        made["curl"].startswith("curl ") and "--data-binary" in made["curl"] and "X-Keycloak-Signature" in made["curl"]
    )
    assert SECRET not in json.dumps(made)
    names = [h["name"] for h in made["headers"]]
    assert names[-2:] == ["X-Keycloak-Signature", "Content-Type"]
    api.service.runs.clear()  # a restarted server: the run's literal secret is gone with it
    refused = await problem(await api.get("/api/deliveries/1/curl"), 409, "delivery")
    assert SECRET not in json.dumps(refused)
    await problem(await api.get("/api/deliveries/99/curl"), 404, "delivery")


async def test_attempts_on_the_live_stream_say_where_their_delivery_stands(api):
    response = await api.get("/api/stream", params={"kind": "attempt"})
    assert (await response.content.readline()).startswith(b": idp-emulator")
    run_id = await start(api, scenario="logout")
    line = ""
    while not line.startswith("data: "):
        line = (await response.content.readline()).decode().strip()
    record = json.loads(line[6:])
    assert record["delivery"] == 1 and record["status"] == 200 and record["delivery_status"] == "delivered"
    response.close()
    await finished(api, run_id)
