"""A run's Faker is a copy of its locale's pattern: it must draw exactly what a new Faker draws."""

from __future__ import annotations

import inspect
import random

import pytest
from faker import Faker

from emulator.play.actors import new_faker
from emulator.play.fakers import faker_for

SKIP = {"seed", "seed_instance", "seed_locale", "binary", "image", "zip", "tar", "xml", "csv", "tsv", "psv", "dsv"}


def formatters(fake: Faker) -> list[str]:
    """The formatters a caller can use with no arguments (the big file-like ones left out: slow)."""
    generator = fake._factories[0]
    names = []
    for name in sorted(vars(generator)):
        value = getattr(generator, name)
        if name.startswith("_") or name in SKIP or not inspect.ismethod(value):
            continue
        parameters = inspect.signature(value).parameters.values()
        if all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
            names.append(name)
    return names


def draws(fake: Faker, names: list[str]) -> dict[str, str]:
    """Each formatter's value, in order; a few of Faker's own formatters (passport genders, some
    locales' SSNs) draw from Python's shared ``random``, so that is seeded alike for each Faker."""
    kept = random.getstate()
    out = {}
    try:
        for name in names:
            random.seed(0)
            fake.seed_instance(f"7:{name}")  # each formatter from a seed of its own: one that reads the clock
            try:  # as it turns (date_time_this_month) and draws more or less, shifts no other
                value = getattr(fake, name)()
            except Exception as exc:  # some need optional packages or arguments: the same for both
                value = type(exc).__name__
            out[name] = "<generator>" if inspect.isgenerator(value) else repr(value)
    finally:
        random.setstate(kept)
    return out


@pytest.mark.parametrize("locale", ["en_US", "de_DE", "ja_JP", "pt_BR"])
def test_a_copy_draws_what_a_new_faker_draws_for_every_formatter(locale):
    def fresh() -> Faker:
        return Faker(locale)

    names = formatters(fresh())
    assert len(names) > 150
    # the copy draws between two new Fakers: what they agree on (all but the twenty or so that read
    # the clock, like unix_time) held still while the copy drew too
    once = draws(fresh(), names)
    copied = draws(faker_for(locale, "7:tour"), names)
    twice = draws(fresh(), names)
    steady = [n for n in names if once[n] == twice[n]]
    assert len(steady) > 0.8 * len(names)
    assert {n: copied[n] for n in steady} == {n: once[n] for n in steady}


def test_copies_alive_at_once_draw_each_their_own():
    alone = {seed: new_faker("en_US", seed).first_name() for seed in (1, 2)}
    a, b = new_faker("en_US", 1), new_faker("en_US", 2)
    together = {1: [], 2: []}
    for _ in range(5):  # interleaved, as two runs' plays are on one event loop
        together[1].append(a.email())
        together[2].append(b.email())
    first, second = new_faker("en_US", 1), new_faker("en_US", 2)
    assert together == {1: [first.email() for _ in range(5)], 2: [second.email() for _ in range(5)]}
    assert alone[1] != alone[2]
    a.unique.first_name()
    assert a.unique._seen and not b.unique._seen  # what a unique proxy remembers is its copy's own


def test_a_locale_faker_does_not_know_falls_back_to_the_default():
    assert new_faker("xx_XX", 3).first_name() == new_faker("en_US", 3).first_name()
