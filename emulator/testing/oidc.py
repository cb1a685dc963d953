"""The live fake IdP from inside a test: ``idp_emulator.oidc("keycloak")`` gives an issuer and a client.

The provider is the one ``serve`` runs (on the emulator's own loopback port); this only registers a
client (and, when asked, a user to sign in as without the page) and says where everything is, so an
app under test is configured with ``issuer``, ``client_id``, ``client_secret`` and ``redirect_uri``
as it would be against the vendor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.oidc.provider import Provider
    from emulator.server.service import Service


@dataclass(frozen=True)
class OidcProvider:
    """Where an app finds the provider, and the client it signs in with."""

    vendor: str
    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str | None
    redirect_uri: str
    provider: Provider

    def rotate_keys(self) -> list[str]:
        """Rotate the signing keys while serving (as ``POST /api/oidc/keys``): new tokens carry
        the new kids, returned here; the old keys stay in the JWKS, passive."""
        return self.provider.keys.rotate()

    @property
    def metadata(self) -> dict[str, Any]:
        """The discovery document, as the app would fetch it."""
        return self.provider.discovery(self.provider.service_base)


def register(
    service: Service,
    base: str,
    vendor: str,
    client: dict[str, Any] | None,
    users: list[dict[str, Any]],
    sign_in_as: str | None,
    events_to: str | None,
    outcome: str = "success",
) -> OidcProvider:
    from emulator.oidc.http import Hub
    from emulator.oidc.profile import not_served

    why = not_served(service.registry, [vendor])
    if why:
        raise ValueError(f"oidc: {why}")
    if service.oidc is None:
        service.oidc = Hub.create(service)
    hub: Hub = service.oidc
    provider = hub.providers.get(vendor)
    if provider is None:
        raise ValueError(f"oidc: {vendor!r} is not in oidc.vendors; served: {', '.join(hub.providers)}")
    spec = {"id": "test-app", "redirect_uris": ["http://localhost:*", "http://127.0.0.1:*"], **(client or {})}
    spec.setdefault("secret", secrets.token_urlsafe(24))
    if spec["secret"] is None:
        del spec["secret"]  # a public client
    made, _ = hub.directory.put_client(spec)
    for user in users:
        hub.directory.put_user(user)
    if sign_in_as is not None:
        from emulator.oidc.outcomes import outcomes

        if outcome not in outcomes():
            raise ValueError(f"oidc: outcome {outcome!r} is not one of {', '.join(outcomes())}")
        hub.settings.auto_approve, hub.settings.auto_outcome = sign_in_as, outcome
    if events_to is not None:
        name = f"oidc-{vendor}"
        if name in service.saved.items:
            service.saved.delete(name)
        service.saved.create({"name": name, "vendor": vendor, "url": events_to})
    provider.service_base = base
    path = provider.profile.paths.get("discovery_default") or provider.profile.paths["discovery"]
    return OidcProvider(
        vendor=vendor,
        issuer=provider.issuer(base),
        discovery_url=base + path.format(**provider.names()),
        client_id=made.id,
        client_secret=made.secret,
        redirect_uri=made.redirect_uris[0],
        provider=provider,
    )
