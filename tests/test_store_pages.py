"""The store's pages of events and deliveries: newest first by keyset on the primary key, and the
delivery status of each event read through an index, so a console over 100,000 events stays fast.
The query plans are checked, not guessed: each query the store runs is explained by SQLite."""

from __future__ import annotations

import sqlite3

from emulator.store import EventRow, Outcome, Store
from emulator.store.schema import SCHEMA_VERSION


def fill(store: Store, runs: int = 2, per_run: int = 150) -> None:
    for r in range(runs):
        run = f"run_{r}"
        store.create_run(run, "login", ["keycloak"], 1, {})
        batch = [
            (
                EventRow(
                    vendor="keycloak",
                    event_id=f"{run}-{i}",
                    type="LOGIN_ERROR" if i % 10 == 0 else "LOGIN",
                    time_ms=1_000 * i,
                    action="login",
                    actor=f"a{i % 3}",
                    error="invalid_user_credentials" if i % 10 == 0 else None,
                    body=b"{}",
                    faults=None,
                    user=f"a{i % 3}@example.com",
                    user_id=f"u{i % 3}",
                    username=f"a{i % 3}",
                    ip="203.0.113.7",
                    client="shop",
                ),
                [("hook", None), ("audit", None)],
            )
            for i in range(per_run)
        ]
        rows = store.add(run, batch)
        store.record(
            [], [Outcome(row.id, "failed" if row.id % 7 == 0 else "delivered", 1, 0, 500, None) for row in rows]
        )


def plans(store: Store, query) -> list[str]:
    """What SQLite says of each statement ``query()`` runs (its steps, one line each)."""
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    try:
        query()
    finally:
        store.db.set_trace_callback(None)
    found = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            found.append(" | ".join(row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}")))
    return found


def test_events_page_newest_first_by_their_ids():
    store = Store()
    fill(store)
    first = store.event_page({}, limit=100, newest=True)
    assert [e["id"] for e in first] == list(range(300, 200, -1))
    second = store.event_page({}, limit=100, before=first[-1]["id"], newest=True)
    assert second[0]["id"] == 200 and second[-1]["id"] == 101
    newer = store.event_page({}, after=290, limit=100, newest=True)  # what arrived since the top row
    assert [e["id"] for e in newer] == list(range(300, 290, -1))
    failed = store.event_page({"error": "invalid_user_credentials", "run": "run_1"}, limit=5, newest=True)
    assert [e["event_id"] for e in failed] == [f"run_1-{i}" for i in (140, 130, 120, 110, 100)]
    assert store.event(failed[0]["id"])["event_id"] == "run_1-140" and store.event(10**9) is None


def test_each_event_lists_its_deliveries():
    store = Store()
    fill(store, runs=1, per_run=10)  # two deliveries an event; ids 7 and 14 failed
    found = store.event_deliveries([1, 4])
    assert [(d["id"], d["target"], d["status"]) for d in found[1]] == [
        (1, "hook", "delivered"),
        (2, "audit", "delivered"),
    ]
    assert [d["status"] for d in found[4]] == ["failed", "delivered"] and found[4][0]["last_status"] == 500
    assert store.event_deliveries([]) == {}
    failed = store.delivery_page({"status": "failed"}, newest=True)
    assert [(d["id"], d["event"]) for d in failed] == [(14, 7), (7, 4)]
    assert store.delivery_page({"status": "failed"}, before=14, newest=True)[0]["id"] == 7
    assert store.delivery(7)["event"] == 4


def test_the_pages_use_the_primary_key_and_the_event_index():
    store = Store()
    fill(store)
    page = plans(store, lambda: store.event_page({"user": "a1"}, limit=100, before=250, newest=True))
    assert len(page) == 1 and "TEMP B-TREE" not in page[0], page  # rows come in id order: no sort
    assert "USING INTEGER PRIMARY KEY" in page[0] or "SCAN events" in page[0]
    sent = plans(store, lambda: store.event_deliveries(list(range(1, 101))))
    assert len(sent) == 1 and "USING INDEX deliveries_by_event" in sent[0] and "SCAN deliveries" not in sent[0], sent
    listing = plans(store, lambda: store.delivery_page({"status": "failed"}, limit=100, before=400, newest=True))
    assert "TEMP B-TREE" not in listing[0], listing


def test_a_version_3_store_gets_the_index(tmp_path):
    path = tmp_path / "v3.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.executescript("DROP INDEX deliveries_by_event; PRAGMA user_version=3;")
    db.close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "deliveries_by_event" in names
    store.close()


def test_a_version_4_store_drops_the_index_of_every_runs_pending_deliveries(tmp_path):
    # kept up at every delivery's insert and outcome; resume finds a run's pending ones through deliveries_by_run
    path = tmp_path / "v4.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE INDEX deliveries_pending ON deliveries(id) WHERE status = 'pending'; PRAGMA user_version=4;"
    )
    db.close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "deliveries_pending" not in names and "deliveries_by_run" in names
    store.close()


def test_resume_finds_pending_deliveries_through_each_runs_index():
    store = Store(":memory:")
    fill(store, runs=3, per_run=50)
    store.db.execute("UPDATE deliveries SET status = 'pending' WHERE run_id = 'run_1' AND id % 2 = 0")
    store.db.execute("UPDATE runs SET play_done = 1, status = 'finished'")
    pending = plans(store, lambda: list(store.pending("run_1")))
    assert pending and all("USING INDEX deliveries_by_run" in p and "SCAN d" not in p for p in pending), pending
    owed = store.db.execute("SELECT id FROM deliveries WHERE run_id = 'run_1' AND id % 2 = 0 ORDER BY id").fetchall()
    assert [row.id for row in store.pending("run_1")] == [i for (i,) in owed] and len(owed) > 10
    assert list(store.pending("run_0")) == []
    unfinished = plans(store, store.unfinished_runs)
    assert all("SCAN d " not in p and "SCAN deliveries" not in p for p in unfinished), unfinished
    assert store.unfinished_runs() == ["run_1"]


def test_each_attempt_keeps_its_own_answers_headers_in_their_order():
    """Attempts recorded together whose answers repeat, reorder or change headers each read back as
    their own answer gave them (the JSON of a repeated answer is made once)."""
    from emulator.store import AttemptRow

    store = Store(":memory:")
    fill(store, runs=1, per_run=3)
    answers = [
        {"Content-Type": "text/plain", "Date": "d1"},
        {"Content-Type": "text/plain", "Date": "d1"},
        {"Date": "d1", "Content-Type": "text/plain"},
        {"Content-Type": "text/plain", "Date": "d2"},
        None,
    ]
    same = {"at_ms": 1, "scenario_ms": 1, "duration_ms": 1.0, "status": 200, "error": None, "response_body": b""}
    attempts = [
        AttemptRow(delivery=1, number=n, response_headers=headers, next_delay_ms=None, injected=None, **same)
        for n, headers in enumerate(answers, 2)
    ]
    store.record(attempts, [])
    read = [a["response_headers"] for a in store.attempts(1) if a["number"] > 1]
    assert [None if h is None else list(h.items()) for h in read] == [
        None if h is None else list(h.items()) for h in answers
    ]
