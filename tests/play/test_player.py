"""An occurrence the vendor does not want is played, not made: the play goes on exactly as if it were."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from conftest import scenario_names

from emulator.play.player import Player
from emulator.render import load
from emulator.scenario.model import Repeat, Scenario


def state(player: Player) -> dict[str, Any]:
    """What the rest of a play depends on: the generator, the clock, the people, their sessions."""
    return {
        "rng": player.rng.getstate(),
        "fake": player.fake.random.getstate(),
        "now": player.clock.now,
        "seq": player.seq,
        "actors": player.actors,
        "sessions": player.sessions,
        "last_login": player.last_login,
        "failures": player.failures,
        "locked_until": player.locked_until,
    }


def played(scenario: Scenario, wants: Any) -> list[dict[str, Any]]:
    """The player's state after each step (and each occurrence) of ``scenario``, twice over."""
    where = scenario.steps[0].location
    twice = replace(scenario, steps=[Repeat(count=2, every=None, steps=list(scenario.steps), location=where)])
    player = Player(twice, 3, wants=wants)
    states = []
    real = player._pass_over

    def noted() -> None:
        real()
        states.append(state(player))

    player._pass_over = noted  # type: ignore[method-assign]
    for _ in player.occurrences():
        states.append(state(player))
    return [*states, state(player)]


@pytest.mark.parametrize("scenario", scenario_names())
def test_an_unmade_occurrence_changes_and_draws_what_a_made_one_does(scenario: str) -> None:
    loaded = load(scenario)
    made = played(loaded, None)
    # nothing wanted: every failure takes the short way, every success the context without its dress
    unmade = played(loaded, lambda action, error: action == "emit")
    failures_only = played(loaded, lambda action, error: error is None)
    assert unmade[-1] == made[-1] and failures_only[-1] == made[-1]
    assert len(unmade) >= len(made) - 1  # a state noted at every step of each
