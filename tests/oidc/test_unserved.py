"""A vendor with no OpenID provider here says why, in its own oidc.yaml, and so do ``serve`` and the fixture."""

from __future__ import annotations

import pytest

from emulator.cli import main
from emulator.oidc.profile import bundled_profile
from emulator.vendors.registry import Registry

VENDORS = Registry().names
UNSERVED = [v for v in VENDORS if not bundled_profile(v).supported]


def test_every_vendor_says_whether_it_is_served_and_where_that_was_read():
    assert set(UNSERVED) >= {"idaas", "strivacity", "ssf"} and "keycloak" not in UNSERVED
    for vendor in VENDORS:
        profile = bundled_profile(vendor)
        assert profile.source, vendor  # its docs (or the reason none are public)
        assert profile.confidence in ("confirmed", "inferred", "unverified"), vendor
        if not profile.supported:
            assert len(profile.reason) > 40 and "oidc.yaml in the vendor's folder" not in profile.reason, vendor


def test_serve_refuses_an_unserved_vendor_with_its_reason(tmp_path, capsys):
    config = tmp_path / "emulator.yaml"
    config.write_text("oidc:\n  vendors: [keycloak, strivacity]\n")
    assert main(["serve", "--port", "0", "--db", str(tmp_path / "e.db"), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "oidc.vendors: strivacity has no OpenID provider here: Strivacity documents" in err
    assert "Traceback" not in err and not (tmp_path / "e.db").exists()  # refused before it opened anything


def test_the_fixture_says_why_a_vendor_is_not_served(idp_emulator):
    for vendor in UNSERVED:
        with pytest.raises(ValueError) as refused:
            idp_emulator.oidc(vendor)
        assert f"{vendor} has no OpenID provider here: {bundled_profile(vendor).reason}" in str(refused.value)
