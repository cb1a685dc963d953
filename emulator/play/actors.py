"""Actors: fake people and API clients, made once per run from the seed and kept stable.

Everything a vendor template might show about a person is decided here, once, so every event
about alice carries the same id, email and address, and rendering never calls Faker per event.
"""

from __future__ import annotations

import random
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from emulator.play.ids import uuid4
from emulator.scenario.model import ActorSpec
from emulator.scenario.vocabulary import locales

if TYPE_CHECKING:
    from faker import Faker

DEFAULT_LOCALE = "en_US"


def new_faker(locale: str, seed: int | str) -> Faker:
    """A Faker of its own for one run, so runs alive at once in one process never share a generator
    (a copy of the locale's pattern: ``emulator.play.fakers``)."""
    from emulator.play.fakers import faker_for

    return faker_for(locale if locale in locales() else DEFAULT_LOCALE, seed)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", ".", folded.lower()).strip(".")


DAY_MS = 86_400_000
# what a user agent says about the device: the first match wins (Edge and Opera also say Chrome)
_SYSTEMS = (("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"), ("Windows", "Windows"),
            ("Macintosh", "macOS"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))  # fmt: skip
_BROWSERS = (("Edg", "Edge"), ("OPR", "Opera"), ("Opera", "Opera"), ("Firefox", "Firefox"), ("Chrome", "Chrome"),
             ("Safari", "Safari"), ("MSIE", "Internet Explorer"), ("Trident", "Internet Explorer"))  # fmt: skip


def device_of(user_agent: str) -> dict[str, Any]:
    """The device a browser's user agent names, as login pages describe it ("macOS Chrome"): decided
    once per actor, so vendors that report a device (FusionAuth's event.info) read it, never parse."""
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "Unknown")
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "Browser")
    mobile = system in ("iOS", "Android") or "Mobile" in user_agent
    return {"name": f"{system} {browser}", "os": system, "browser": browser, "mobile": mobile}


def make_actor(
    spec: ActorSpec, fake: Faker, rng: random.Random, locale: str, start_ms: int = 0, tag: str = ""
) -> dict[str, Any]:
    """Resolve an actor: given fields win, Faker fills the rest.

    A registered actor was created some 30 to 900 days before the scenario starts. ``tag`` marks
    a person as one of many plays of the same story (a load test's users): it joins the username,
    the email and a given id, so two plays never make the same person even where Faker draws the
    same name or the scenario gives an email.
    """
    given = spec.fields
    kind = given.get("kind", "user")
    first = given.get("first_name") or fake.first_name()
    last = given.get("last_name") or fake.last_name()
    username = given.get("username")
    if not username:
        username = _ascii(f"{first} {last}") or fake.user_name()
    actor: dict[str, Any] = {
        "name": spec.name,
        "kind": kind,
        "id": given.get("id") or uuid4(rng),
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "username": username,
        "email": given.get("email") or f"{_ascii(username) or 'user'}@{fake.free_email_domain()}",
        "locale": given.get("locale") or locale,
        "ip": given.get("ip") or fake.ipv4_public(),
        "user_agent": given.get("user_agent") or fake.user_agent(),
        "registered": given.get("registered", True),
        "email_verified": True,
        "created_ms": start_ms - rng.randint(30, 900) * DAY_MS - rng.randint(0, DAY_MS)
        if given.get("registered", True)
        else None,
        "links": {},
    }
    actor["device"] = device_of(actor["user_agent"])
    if tag and kind != "client":
        actor["username"] = f"{actor['username']}.{tag}"
        local, _, domain = str(actor["email"]).rpartition("@")  # a given email gets a plus address
        actor["email"] = f"{local}+{tag}@{domain}" if given.get("email") else f"{_ascii(actor['username'])}@{domain}"
        if given.get("id"):
            actor["id"] = f"{given['id']}-{tag}"
    if kind == "client":
        client_id = given.get("client_id") or given.get("username") or spec.name
        actor["client_id"] = client_id
        actor["username"] = f"service-account-{client_id}"
        actor["email"] = given.get("email")
        actor["first_name"] = given.get("first_name")
        actor["last_name"] = given.get("last_name")
        actor["full_name"] = client_id
    # the context never holds a null inside a mapping: templates insert its parts as they are
    return {k: v for k, v in actor.items() if v is not None}
