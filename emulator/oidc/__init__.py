"""The live fake IdP: an OpenID provider per vendor, on that vendor's own paths.

An app signs in against the emulator as it would against Keycloak or FusionAuth, and every protocol
step (a login at the authorize endpoint, a code exchanged, a refresh, a logout, a refusal) becomes an
occurrence of the matching scenario action: from there it travels the same road as a scenario's step
(the vendor's dialect, the targets, signing, retries, the store), with the same ids in the token and in
the webhook (the ``sid`` of the token is the session id of the event, ``sub`` its user id).

- ``profile``: what each vendor's ``oidc.yaml`` says (paths, claims, lifetimes, refusals);
- ``keys``: the signing keys (RS256, ES256, HS256), their rotation and the JWKS;
- ``clients``: the registered clients and users (from ``emulator.yaml`` and the API);
- ``provider``: the protocol itself (grants, PKCE, refresh, introspection, revocation, logout);
- ``live``: protocol steps as occurrences, rendered and delivered like a run's;
- ``http``: the aiohttp handlers, and ``page`` the login page.
"""
