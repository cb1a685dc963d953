"""The request guard without a browser: every write refuses another origin, a body that is not JSON
and a host name the server does not answer for (the browser tests show the same in Chromium)."""

from __future__ import annotations

import pytest

WRITES = [
    ("POST", "/api/runs"),
    ("POST", "/api/trigger"),
    ("POST", "/api/targets"),
    ("POST", "/api/targets/any/test"),
    ("POST", "/api/deliveries/1/resend"),
    ("POST", "/api/replay"),
    ("POST", "/api/runs/run_x/cancel"),
    ("PUT", "/api/scenarios/mine"),
    ("PATCH", "/api/targets/any"),
    ("DELETE", "/api/targets/any"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_every_write_refuses_another_origin_and_a_body_that_is_not_json(aiohttp_client, registry, method, path):
    from emulator.server.app import make_app
    from emulator.server.service import Service
    from emulator.store import Store

    service = Service(Store(), registry)
    api = await aiohttp_client(make_app(service))
    body = '{"scenario": "login", "vendor": "keycloak", "targets": ["http://127.0.0.1:9/"]}'
    cross = await api.request(method, path, data=body, headers={"Origin": "https://evil.example"})
    assert cross.status == 403 and (await cross.json())["title"] == "Cross-site request"
    fetched = await api.request(method, path, data=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status == 403
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        plain = await api.request(method, path, data=body, headers={"Content-Type": kind})
        assert plain.status == 415, kind
    rebound = await api.request(method, path, data=body, headers={"Host": "rebound.example:8025"})
    assert rebound.status == 403 and (await rebound.json())["title"] == "Unknown host"
    assert service.runs == {} and service.store.saved_targets() == []
    await service.close()
