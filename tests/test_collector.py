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


def test_a_delivery_run_streams_without_a_collection_first_and_restores_the_collector(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]
):
    from emulator.delivery import commands

    seen: list[tuple[int, int, int]] = []
    real = commands.deliver_run

    def watched(*args, **kwargs):  # the real run, with the collector as the run finds it noted
        seen.append((gc.get_threshold()[0], gc.get_freeze_count(), gc.get_stats()[2]["collections"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(commands, "deliver_run", watched)
    before = gc.get_threshold()
    gc.disable()  # only the collections the command asks for are counted
    try:
        full = gc.get_stats()[2]["collections"]
        code = main([
            "run", "login", "--vendor", "keycloak", "--target", "http://127.0.0.1:9/hook", "--retry", "none",
            "--db", str(tmp_path / "s.db"), "--seed", "1", "--json",
        ])  # fmt: skip
    finally:
        gc.enable()
    assert code == 1  # nothing listens there: every delivery fails, and the run says so
    assert json.loads(capsys.readouterr().out)["failed"] == 3
    young, frozen, collections = seen[0]
    assert young == YOUNG and frozen > 0
    assert collections == full  # no full collection made the run wait before its first event
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
