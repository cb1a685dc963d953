"""A Faker for each run, made as a copy of one built per locale rather than built anew.

Building a Faker scans every provider's attributes and binds each of its formatters (a few
milliseconds; with ``serve`` starting dozens of runs a second it was a fifth of the server's time).
Only two things in a Faker belong to one user: the providers' link to their generator, whose
``random`` every formatter draws from, and that ``random``. A copy therefore gets new provider
objects (their attributes shared: data Faker only reads, such as the public IPv4 networks it works
out once), a new generator whose formatters are bound to them, and its own seeded ``random``: it
draws exactly what a new ``Faker(locale)`` seeded the same way draws (tests/play/test_fakers.py
holds that for every formatter, for several locales). Faker is pinned in pyproject.toml; a new
release is checked by that test before it is taken.
"""

from __future__ import annotations

import types
from collections import OrderedDict
from functools import cache
from typing import TYPE_CHECKING, Any

from faker.generator import Generator as FakerGenerator

if TYPE_CHECKING:
    from faker import Faker
    from faker.generator import Generator


class _Pattern:
    """One built Faker of a locale, and what a copy of it needs: its providers and its bound formatters."""

    def __init__(self, locale: str) -> None:
        from faker import Faker

        self.faker = Faker(locale)
        self.generator: Generator = self.faker._factories[0]
        self.providers = list(self.generator.providers)
        for provider in self.providers:
            if hasattr(provider, "_get_public_networks_and_weights"):
                vars(provider).update(_public_networks())
        position = {id(p): i for i, p in enumerate(self.providers)}
        # name -> (function, index of its provider): a copy binds a formatter when first asked for it
        self.formatters: dict[str, tuple[Any, int]] = {}
        self.plain: dict[str, Any] = {}  # the generator's other attributes (its configuration, its random)
        for name, value in vars(self.generator).items():
            owner = getattr(value, "__self__", None)
            if isinstance(value, types.MethodType) and id(owner) in position:
                self.formatters[name] = (value.__func__, position[id(owner)])
            elif name != "providers":
                self.plain[name] = value

    def copy(self, seed: int | str) -> Faker:
        generator = _Copy.__new__(_Copy)
        providers = []
        for provider in self.providers:
            own = object.__new__(type(provider))
            vars(own).update(vars(provider))
            own.generator = generator
            providers.append(own)
        state = vars(generator)
        state.update(self.plain)
        state["providers"] = providers
        state["_pattern"] = self
        fake = object.__new__(type(self.faker))
        state = vars(fake)
        state.update(vars(self.faker))
        state["_factory_map"] = OrderedDict((locale, generator) for locale in self.faker._factory_map)
        state["_factories"] = [generator]
        state["_unique_proxy"] = type(self.faker.unique)(fake)  # what each remembers is its own
        state["_optional_proxy"] = type(self.faker.optional)(fake)
        fake.seed_instance(seed)  # its own random (the pattern's generator was never seeded)
        return fake


class _Copy(FakerGenerator):
    """A copy's generator: a formatter is bound to the copy's provider when first asked for (a run
    asks for a handful of the hundreds there are)."""

    def __getattr__(self, name: str) -> Any:
        found = self.__dict__["_pattern"].formatters.get(name)
        if found is None:
            raise AttributeError(name)
        function, index = found
        bound = types.MethodType(function, self.providers[index])
        setattr(self, name, bound)
        return bound


@cache
def _pattern(locale: str) -> _Pattern:
    return _Pattern(locale)


def faker_for(locale: str, seed: int | str) -> Faker:
    """A Faker of ``locale`` (one Faker knows) of its own, seeded with ``seed``."""
    return _pattern(locale).copy(seed)


@cache
def _public_networks() -> dict[str, Any]:
    """Faker works out the public IPv4 networks (every range minus the reserved ones) once per
    instance, which costs more than the rest of a run; it depends on nothing random, so the
    result is worked out once per process and handed to each locale's pattern, read-only."""
    from faker import Faker

    provider = next(p for p in Faker("en_US").providers if hasattr(p, "_get_public_networks_and_weights"))
    for address_class in "abc":
        provider._get_public_networks_and_weights(address_class)
    return {k: v for k, v in vars(provider).items() if k.startswith("_cached_public_")}
