"""Requests generated from the OpenAPI document: no 5xx, and no answer that breaks the document."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from emulator.server.api import ROUTES
from emulator.server.app import make_app
from emulator.server.openapi import openapi
from emulator.server.service import Service
from emulator.store import Store
from emulator.testing.harness import LoopThread
from emulator.vendors.registry import Registry

# runs and triggers would send webhooks to whatever URLs the generator invents, the stream never ends,
# and an upload's YAML is checked beyond what a schema can say: those have their own tests in test_api.py
document = schemathesis.openapi.from_dict(openapi(ROUTES, Registry().names))
schema = document.exclude(
    path_regex=r"^/api/(runs|trigger|stream|clients|users|oidc)|^/api/targets/[^/]+/test"
).exclude(method="PUT")
# the live IdP's clients, users and keys: small operations of few shapes, so fewer examples each
directory = document.include(path_regex=r"^/api/(clients|users|oidc)")
# a target's schema cannot say which URLs, header values or retry names are acceptable, nor a client's or
# user's which variables a secret may name or that a replacement names what its path does, so the API may
# refuse (422) one the schema allows, or find it exists (409); every other check holds for them too
TARGETS = re.compile(r"^/api/targets")


@pytest.fixture(scope="module")
def base_url():
    from aiohttp import web

    harness = LoopThread()
    service = Service(Store(), Registry())

    async def up() -> tuple[web.AppRunner, str]:
        runner = web.AppRunner(make_app(service), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    runner, url = harness.run(up())
    yield url
    harness.run(runner.cleanup())
    harness.close()


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests(case, base_url):
    excluded = [positive_data_acceptance] if TARGETS.match(case.operation.path) else []
    case.call_and_validate(base_url=base_url, excluded_checks=excluded)


@directory.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_directory_requests(case, base_url):
    case.call_and_validate(base_url=base_url, excluded_checks=[positive_data_acceptance])
