"""The store's writer: group commit, with each write committed before its caller hears of it."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import weakref

import pytest

from emulator.server.app import make_app
from emulator.server.service import Service
from emulator.store import Store, StoreError
from emulator.store.writer import writer_for


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "s.db", background_writes=True)
    yield opened
    opened.close()


def committed(store: Store) -> list[str]:
    """The scenario names another connection reads: only what was committed."""
    other = sqlite3.connect(store.path)
    try:
        return [r[0] for r in other.execute("SELECT name FROM scenarios ORDER BY name")]
    finally:
        other.close()


def save(name: str):
    return lambda own: own.save_scenario(name, f"name: {name}\n")


async def test_writes_handed_over_together_commit_in_one_group(store):
    writer = writer_for(store)
    names = [f"s{i:02}" for i in range(20)]
    await asyncio.gather(*(writer.write(save(n)) for n in names))
    assert committed(store) == names  # each caller heard only once its write was committed
    assert writer.groups == 2  # the first went at once; the 19 handed over while it synced went together


class Made:
    """A write's result that can be watched (a weak reference) while it lives."""


async def test_what_a_committed_group_held_is_let_go_without_the_cycle_collector(store):
    """A group's COMMIT called back into the group, and the group held its COMMIT: every row a
    group wrote (a run's events, deliveries and attempts) then lived on until the cycle collector
    came by, and a run's memory grew with how rarely it does (1,000,000 deliveries: 18 MB)."""
    writer = writer_for(store)
    gc.disable()
    try:
        first = weakref.ref(await writer.write(lambda own: Made()))
        await writer.write(save("next"))  # the writer keeps only the latest write's future
        await writer.settled()
        assert first() is None  # freed as its group settled: no cycle kept it
    finally:
        gc.enable()


async def test_a_failing_write_is_undone_alone(store):
    writer = writer_for(store)

    def half_then_fail(own: Store) -> None:
        own.save_scenario("half", "x")
        raise ValueError("refused after writing")

    results = await asyncio.gather(
        writer.write(save("before")), writer.write(half_then_fail), writer.write(save("after")), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert committed(store) == ["after", "before"]  # "half" was undone with its own write only
    assert writer.groups == 2  # "after" committed in the same group as the failed write


async def test_a_group_that_cannot_commit_fails_every_write_in_it(store):
    writer = writer_for(store)
    await writer.write(save("first"))
    blocker = sqlite3.connect(store.path, isolation_level=None, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    writer._connection().db.execute("PRAGMA busy_timeout=0")  # fail at once rather than wait for it
    try:
        results = await asyncio.gather(writer.write(save("a")), writer.write(save("b")), return_exceptions=True)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert all(isinstance(r, StoreError) and "cannot write to the store" in str(r) for r in results)
    await writer.write(save("later"))  # the writer goes on once the lock is free
    assert committed(store) == ["first", "later"]


async def test_a_plain_write_goes_through_the_writer_and_is_committed_on_return(store):
    writer = writer_for(store)
    pending = asyncio.ensure_future(writer.write(save("grouped")))
    while writer._syncing is None:  # the group's COMMIT is under way on the thread
        await asyncio.sleep(0)
    store.save_scenario("plain", "x")  # the writer's connection writes it, after the group's sync
    assert "plain" in committed(store)
    await pending
    assert committed(store) == ["grouped", "plain"]
    assert store.db.total_changes == 0  # the loop's own connection wrote nothing: no two writers wait


async def test_close_commits_what_was_handed_over(tmp_path):
    store = Store(tmp_path / "s.db", background_writes=True)
    writer = writer_for(store)
    pending = [asyncio.ensure_future(writer.write(save(n))) for n in ("x", "y")]
    await asyncio.sleep(0)
    store.close()  # the server stopping: nothing handed over is lost
    assert committed(store) == ["x", "y"]
    await asyncio.gather(*pending)


async def test_a_run_is_in_the_store_when_the_api_says_it_started(aiohttp_client, registry, tmp_path):
    store = Store(tmp_path / "s.db", background_writes=True)  # as serve opens it
    service = Service(store, registry)
    client = await aiohttp_client(make_app(service))
    try:
        sink = str(client.make_url("/sink/t"))
        body = {"scenario": "login", "vendor": "keycloak", "targets": [sink], "time_scale": 0}
        run_ids = []
        for _ in range(3):
            response = await client.post("/api/runs", json=body)
            assert response.status == 202
            run_ids.append((await response.json())["run"])
            # read at once, before its creation's group has committed: the answer waits for it
            assert (await client.get(f"/api/runs/{run_ids[-1]}")).status == 200
        response = await client.post("/api/runs", json=body)
        run_ids.append((await response.json())["run"])
        assert (await (await client.get("/api/runs/latest")).json())["run"] == run_ids[-1]
        response = await client.post("/api/runs", json=body)
        run_ids.append((await response.json())["run"])
        listed = (await (await client.get("/api/runs")).json())["runs"]
        assert {r["run"] for r in listed} == set(run_ids)
        for run_id in run_ids:
            await service.runs[run_id].task
            info = await (await client.get(f"/api/runs/{run_id}")).json()
            assert info["status"] == "finished" and info["deliveries"]["delivered"] == 3
        other = sqlite3.connect(store.path)
        assert other.execute("SELECT count(*) FROM attempts").fetchone()[0] == 3 * len(run_ids)
        other.close()
    finally:
        await service.close()
        store.close()
