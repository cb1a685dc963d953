"""The collector set for a render's stream, and as it was afterwards (commands run inside tests too)."""

from __future__ import annotations

import gc
import json

import pytest

from emulator.cli import main
from emulator.collector import YOUNG, streaming


def test_a_stream_runs_with_rare_young_collections_and_the_loaded_objects_frozen():
    before = gc.get_threshold()
    with streaming():
        assert gc.get_threshold()[0] == YOUNG
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_stream_in_a_forked_child_freezes_without_a_collection():
    # a full collection would write to every object, copying the whole of a parent's heap in a child
    gc.disable()  # only the collections the stream asks for are counted
    try:
        full = gc.get_stats()[2]["collections"]
        with streaming(collect=False):
            assert gc.get_freeze_count() > 0
            assert gc.get_stats()[2]["collections"] == full
        with streaming():
            assert gc.get_stats()[2]["collections"] == full + 1
    finally:
        gc.enable()


def test_the_render_command_leaves_the_collector_as_it_found_it(capsys: pytest.CaptureFixture[str]):
    before = gc.get_threshold()
    assert main(["render", "login", "--vendor", "keycloak", "--seed", "1"]) == 0
    assert [json.loads(line)["vendor"] for line in capsys.readouterr().out.splitlines()]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_failing_stream_restores_the_collector_too():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), streaming():
        raise RuntimeError("stopped")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
