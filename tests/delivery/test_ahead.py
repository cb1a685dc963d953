"""Rendering ahead in a child process: the very events an inline render gives, in order, and its problems."""

from __future__ import annotations

import fcntl
import os
import sys
from datetime import UTC, datetime
from itertools import chain, islice

import pytest

from emulator.delivery import ahead
from emulator.errors import EmulatorError, Problem
from emulator.render import load, render_events

START = datetime(2026, 1, 1, tzinfo=UTC)


async def collect(chunks):
    return [event async for chunk in chunks for event in chunk]


def tour(registry, vendor="keycloak"):
    """The tour played with two seeds in a row: a few hundred events, several messages on the pipe."""
    scenario = load("tour")
    return lambda: chain.from_iterable(render_events(scenario, vendor, seed, START, registry) for seed in range(2))


@pytest.mark.parametrize("vendor", ["keycloak"])
async def test_the_child_renders_what_an_inline_render_does(registry, vendor):
    inline = await collect(ahead.rendered(tour(registry, vendor), 0))  # a short play renders inline
    forked = await collect(ahead._from_child(tour(registry, vendor)))
    assert forked == inline and len(inline) > ahead.CHUNK  # several messages, in order, byte for byte


async def test_a_problem_the_child_meets_is_raised_here_after_the_events_before_it(registry):
    events = tour(registry)

    def failing():
        yield from islice(events(), 150)
        raise Problem("templates/fusionauth/user.login.success.json:3: 'user' is undefined")

    got = []
    with pytest.raises(Problem, match="'user' is undefined"):
        async for chunk in ahead._from_child(failing):
            got += chunk
    assert len(got) == 150


async def test_a_child_that_dies_is_an_error_not_a_short_run(registry):
    events = tour(registry)

    def dying():
        yield from islice(events(), 10)
        os._exit(3)

    with pytest.raises(EmulatorError, match="stopped before its end"):
        await collect(ahead._from_child(dying))


async def test_the_store_writers_idle_thread_does_not_keep_a_run_from_rendering_ahead(tmp_path):
    """A file store commits on a thread of its own: once it is idle, a long run still forks its
    render process (the writer's thread holds nothing the child needs); any other thread forbids it."""
    import threading

    from emulator.store import Store
    from emulator.store.writer import writer_for

    before = ahead.other_threads()
    store = Store(tmp_path / "store.sqlite", background_writes=True)
    try:
        writer = writer_for(store)
        await writer.write(lambda own: own.create_run("r", "s", ["keycloak"], 1, {}))  # its thread commits
        assert writer.threads == 1 and ahead.other_threads() == before + 1
        assert ahead.other_threads(writer) == before
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        try:
            assert ahead.other_threads(writer) == before + 1
        finally:
            stop.set()
            other.join()
    finally:
        store.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are a Linux setting")
def test_the_pipe_has_room_for_whole_chunks_where_the_system_allows():
    read, write = ahead.wide_pipe()
    try:
        assert fcntl.fcntl(write, fcntl.F_GETPIPE_SZ) >= ahead.PIPE_BYTES  # Linux's default is 64 KiB
    finally:
        os.close(read)
        os.close(write)


def test_a_pipe_the_system_will_not_widen_is_used_as_it_is(monkeypatch):
    def refuse(fd, command, arg=0):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(fcntl, "fcntl", refuse)
    read, write = ahead.wide_pipe()
    try:
        os.write(write, b"still a pipe")
        assert os.read(read, 100) == b"still a pipe"
    finally:
        os.close(read)
        os.close(write)
