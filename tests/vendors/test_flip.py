"""Flip: Flip's own type names (from the seed document) over Keycloak's event representation."""

from __future__ import annotations

from conftest import flip_seed_lists

from emulator.render import load, render_events
from emulator.vendors.registry import Registry

REPRESENTATION = ["id", "time", "type", "realmId", "clientId", "userId", "sessionId", "ipAddress", "error", "details"]


def events(scenario: str):
    return list(render_events(load(scenario), "flip", 7))


def test_catalog_types_are_exactly_the_seed_types_and_their_error_variants():
    types, _ = flip_seed_lists()
    catalog = Registry().vendor("flip").catalog
    assert sorted(catalog.all_types()) == sorted([*types, *(t + "_ERROR" for t in types)])


def test_flip_names_differ_from_keycloak_names():
    login = events("login")
    assert [e.type for e in login] == ["LOGIN_USERNAME_PASSWORD", "CODE_TO_TOKEN", "LOGOUT"]
    assert [e.type for e in events("registration")][:3] == ["REGISTER", "LOGIN_POST_REGISTRATION", "CODE_TO_TOKEN"]
    assert "LOGIN_SSO" in {e.type for e in events("sso-login")}
    assert "LOGIN_API_CLIENT" in {e.type for e in events("api-client")}


def test_body_is_the_event_representation_in_its_field_order():
    for event in events("tour"):
        keys = list(event.body)
        assert keys == [k for k in REPRESENTATION if k in keys]
        assert event.body["type"] == event.type
        assert all(isinstance(v, str) for v in event.body["details"].values())


def test_error_codes_are_flips_strings():
    errors = {e.body.get("error") for e in events("login-failure")}
    assert "Failed to verify login action" in errors
    assert None in errors  # the final good login carries no error
