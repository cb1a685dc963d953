"""The outbox: runs, and the events and deliveries they owe, written before anything is sent.

A delivery is committed before its first attempt, so a crash or ``kill -9`` can only cause an
attempt to be repeated, never a delivery to be lost. Finished attempts are recorded in batches,
each with the deliveries' new state, in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from emulator.store import bulk
from emulator.store.connection import Connection, Where, now_ms
from emulator.store.rows import AttemptRow, DeliveryRow, EventRow, Outcome

# the columns the outbox writes a batch's rows into (its values come in this order), and what an
# attempt changes in its delivery
EVENT_COLUMNS = (
    "id", "run_id", "vendor", "event_id", "type", "time_ms", "action", "actor", "error", "body", "faults", "user",
    "user_id", "username", "ip", "client",
)  # fmt: skip
DELIVERY_COLUMNS = ("id", "run_id", "event", "target", "key", "status", "updated_ms")
ATTEMPT_COLUMNS = (
    "delivery", "number", "at_ms", "scenario_ms", "duration_ms", "status", "error", "response_headers",
    "response_body", "next_delay_ms", "injected",
)  # fmt: skip
OUTCOME_COLUMNS = ("status", "attempts", "elapsed_ms", "last_status", "last_error", "updated_ms")


class Outbox(Connection):
    """Writing runs, events, deliveries and attempts; reading back what is still owed."""

    # runs ---------------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        scenario: str,
        vendors: Sequence[str],
        seed: int,
        targets: dict[str, dict[str, Any]],
        options: dict[str, Any] | None = None,
    ) -> None:
        def work(cur: sqlite3.Cursor) -> None:
            cur.execute(
                "INSERT INTO runs (id, scenario, vendors, seed, started_ms, status, options)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (run_id, scenario, ",".join(vendors), seed, now_ms(), json.dumps(options or {})),
            )
            cur.executemany(
                "INSERT INTO targets (run_id, name, config) VALUES (?, ?, ?)",
                [(run_id, name, json.dumps(config)) for name, config in targets.items()],
            )

        self._write(work)

    def skip(self, run_id: str, count: int = 1) -> None:
        """Events the play passed over without storing (an action the IdP refused): still played."""
        self._write(lambda cur: cur.execute("UPDATE runs SET played = played + ? WHERE id = ?", (count, run_id)))

    def play_done(self, run_id: str) -> None:
        """Every event of the run is stored (or its play cannot go on): resume will not replay it."""
        self._write(lambda cur: cur.execute("UPDATE runs SET play_done = 1 WHERE id = ?", (run_id,)))

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        """Record how a run ended; a run someone cancelled stays cancelled whatever its task says after."""
        self._write(
            lambda cur: cur.execute(
                "UPDATE runs SET finished_ms = ?, status = ? WHERE id = ? AND status != 'cancelled'",
                (now_ms(), status, run_id),
            )
        )

    def cancel_run(self, run_id: str) -> int:
        """Cancel a run for good: it is never played on or resumed, and what it still owed is cancelled
        too (how many deliveries). A later resend of its failed deliveries is still the user's to ask."""

        def work(cur: sqlite3.Cursor) -> int:
            cur.execute("UPDATE runs SET status = 'cancelled', finished_ms = ? WHERE id = ?", (now_ms(), run_id))
            return cur.execute(
                "UPDATE deliveries SET status = 'cancelled', updated_ms = ? WHERE run_id = ? AND status = 'pending'",
                (now_ms(), run_id),
            ).rowcount

        return self._write(work)

    def disable_target(self, run_id: str, name: str, reason: str) -> None:
        self._write(
            lambda cur: cur.execute(
                "UPDATE targets SET disabled = ? WHERE run_id = ? AND name = ?", (reason, run_id, name)
            )
        )

    # deliveries ----------------------------------------------------------------------------

    def add(self, run_id: str, batch: Sequence[tuple[EventRow, Sequence[tuple[str, str | None]]]]) -> list[DeliveryRow]:
        """Store events and their deliveries (target name, ordering key) in one transaction.

        Ids are taken inside the transaction, so two processes sharing a store never collide.
        """

        def work(cur: sqlite3.Cursor) -> list[DeliveryRow]:
            event_id = cur.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
            delivery_id = cur.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]
            stamp = now_ms()
            events: list[Any] = []  # the rows' values, one after the other (``bulk.insert``)
            rows: list[Any] = []
            out: list[DeliveryRow] = []
            for event, routes in batch:
                event_id += 1
                events += (
                    event_id, run_id, event["vendor"], event["event_id"], event["type"], event["time_ms"],
                    event["action"], event["actor"], event["error"], event["body"], event["faults"], event["user"],
                    event["user_id"], event["username"], event["ip"], event["client"],
                )  # fmt: skip
                for target, key in routes:
                    delivery_id += 1
                    rows += (delivery_id, run_id, event_id, target, key, "pending", stamp)
                    row = DeliveryRow(
                        delivery_id,
                        run_id,
                        target,
                        event["event_id"],
                        event["type"],
                        event["time_ms"],
                        event["body"],
                        key,
                    )
                    row.event_faults = event["faults"]
                    out.append(row)
            bulk.insert(cur, "events", EVENT_COLUMNS, events)
            cur.execute("UPDATE runs SET played = played + ? WHERE id = ?", (len(batch), run_id))
            bulk.insert(cur, "deliveries", DELIVERY_COLUMNS, rows)
            return out

        rows = self._write(work)
        self.tell_events(run_id, batch)
        return rows

    def tell_events(self, run_id: str, batch: Sequence[tuple[EventRow, Sequence[tuple[str, str | None]]]]) -> None:
        """Tell the listeners of committed events (``add`` does; a writer thread's caller does for it)."""
        if not self.listeners:
            return
        for event, _ in batch:
            record = {key: event[key] for key in ("vendor", "event_id", "type", "time_ms", "actor", "error")}
            self._tell("event", {"run": run_id, **record})

    def record(self, attempts: Sequence[AttemptRow], rows: Sequence[Outcome]) -> None:
        """Write finished attempts and the deliveries' new state in one transaction; of two outcomes
        of one delivery (a retry that ended before the flush) the later one stands: one statement
        updates them all, and SQLite says which of two rows for one id it takes is arbitrary."""
        rows = list({o.delivery: o for o in rows}.values())
        stamp = now_ms()
        written: tuple[list[tuple[str, str]], str] = ([], "")  # the last headers (in order) and their JSON

        def headers_json(headers: dict[str, str] | None) -> str | None:
            """The headers as JSON; most answers repeat the headers of the one before."""
            nonlocal written
            if headers is None:
                return None
            items = list(headers.items())
            if items != written[0]:
                written = (items, json.dumps(headers))
            return written[1]

        def work(cur: sqlite3.Cursor) -> None:
            values: list[Any] = []
            for a in attempts:
                values += (
                    a["delivery"], a["number"], a["at_ms"], a["scenario_ms"], a["duration_ms"], a["status"],
                    a["error"], headers_json(a["response_headers"]), a["response_body"], a["next_delay_ms"],
                    a["injected"],
                )  # fmt: skip
            bulk.insert(cur, "attempts", ATTEMPT_COLUMNS, values)
            changes: list[Any] = []
            for o in rows:
                changes += (o.delivery, o.status, o.attempts, o.elapsed_ms, o.last_status, o.last_error, stamp)
            bulk.update(cur, "deliveries", OUTCOME_COLUMNS, changes)

        self._write(work)
        self.tell_attempts(attempts, rows)

    def tell_attempts(self, attempts: Iterable[AttemptRow], rows: Iterable[Outcome]) -> None:
        """Tell the listeners of committed attempts (``record`` does; a writer thread's caller does for it)."""
        if self.listeners:
            now = {o.delivery: o.status for o in rows}  # where each delivery stands after its attempt
            for a in attempts:
                self._tell("attempt", {
                    "delivery": a["delivery"], "number": a["number"], "status": a["status"], "error": a["error"],
                    "duration_ms": a["duration_ms"], "injected": a["injected"],
                    "delivery_status": now.get(a["delivery"]),
                })  # fmt: skip

    def pending(self, run_id: str | None = None, page: int = 1000) -> Iterator[DeliveryRow]:
        """Every pending delivery, oldest first, read a page at a time (memory stays flat)."""
        after = 0
        while True:
            sql = (
                "SELECT d.id, d.run_id, d.target, e.event_id, e.type, e.time_ms, e.body, d.key, d.attempts,"
                " d.elapsed_ms, d.base, d.copy_of, d.injected, e.faults"
                " FROM deliveries d JOIN events e ON e.id = d.event"
                " WHERE d.status = 'pending' AND d.id > ?"
            )
            params: list[Any] = [after]
            if run_id is not None:
                sql += " AND d.run_id = ?"
                params.append(run_id)
            rows = self.db.execute(sql + " ORDER BY d.id LIMIT ?", (*params, page)).fetchall()
            if not rows:
                return
            for row in rows:
                yield DeliveryRow(*row)
            after = rows[-1][0]

    def unfinished_runs(self) -> list[str]:
        """Runs with pending deliveries, or whose play stopped without finishing (a crash)."""
        rows = self.db.execute(
            "SELECT id FROM runs WHERE status != 'cancelled' AND (status IN ('running', 'interrupted') OR play_done = 0"
            " OR EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = runs.id AND d.status = 'pending'))"
            " ORDER BY started_ms, id"
        )
        return [r[0] for r in rows]

    def copies(self, original: DeliveryRow, count: int, note: str) -> list[DeliveryRow]:
        """Store ``count`` duplicates of a delivery (a fault): the same event, sent again."""

        def work(cur: sqlite3.Cursor) -> list[DeliveryRow]:
            first = cur.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0] + 1
            event = cur.execute("SELECT event FROM deliveries WHERE id = ?", (original.id,)).fetchone()[0]
            stamp = now_ms()
            cur.executemany(
                "INSERT INTO deliveries (id, run_id, event, target, key, status, copy_of, injected, updated_ms)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                [
                    (first + i, original.run_id, event, original.target, None, original.id, note, stamp)
                    for i in range(count)
                ],
            )
            o = original
            return [
                DeliveryRow(
                    first + i,
                    o.run_id,
                    o.target,
                    o.event_id,
                    o.type,
                    o.time_ms,
                    o.body,
                    None,
                    copy_of=o.id,
                    event_faults=o.event_faults,
                )
                for i in range(count)
            ]

        return self._write(work)

    def note(self, delivery: int, injected: str, status: str | None = None) -> None:
        """Record a delivery-level fault (and a final status such as dropped)."""
        sql = (
            "UPDATE deliveries SET injected = ?, updated_ms = ?" + (", status = ?" if status else "") + " WHERE id = ?"
        )
        params = (injected, now_ms(), status, delivery) if status else (injected, now_ms(), delivery)
        self._write(lambda cur: cur.execute(sql, params))

    def requeue_failed(
        self,
        run_id: str | None = None,
        deliveries: Sequence[int] = (),
        since_ms: int | None = None,
        target: str | None = None,
    ) -> int:
        """Mark failed deliveries pending again (a resend keeps the event id); returns how many.

        ``since_ms`` keeps to deliveries that failed at or after that wall-clock time, ``target``
        to one target's.
        """
        where = Where("status = 'failed'").add("run_id = ?", run_id).among("id", deliveries)
        where.add("updated_ms >= ?", since_ms).add("target = ?", target)
        clause, params = str(where), where.params

        def work(cur: sqlite3.Cursor) -> int:
            # a resend means to try again: targets the run disabled take deliveries again
            cur.execute(
                "UPDATE targets SET disabled = NULL WHERE disabled IS NOT NULL AND (run_id, name) IN"
                f" (SELECT run_id, target FROM deliveries WHERE {clause})",
                params,
            )
            return cur.execute(
                "UPDATE deliveries SET status = 'pending', elapsed_ms = 0, base = attempts, updated_ms = ?"
                f" WHERE {clause}",
                (now_ms(), *params),
            ).rowcount

        return self._write(work)

    def delivery_targets(
        self, run_id: str, status: str, deliveries: Sequence[int] = (), target: str | None = None
    ) -> set[str]:
        """The targets a run's deliveries in ``status`` (of those ids, of that target) go to."""
        where = Where().add("run_id = ?", run_id).add("status = ?", status).among("id", deliveries)
        where.add("target = ?", target)
        return {r[0] for r in self.db.execute(f"SELECT DISTINCT target FROM deliveries WHERE {where}", where.params)}

    def failed_runs(self, since_ms: int | None = None, target: str | None = None) -> list[str]:
        """Runs with failed deliveries (since a wall-clock time, to one target): what a replay touches."""
        where = Where("status = 'failed'").add("updated_ms >= ?", since_ms).add("target = ?", target)
        sql = f"SELECT DISTINCT run_id FROM deliveries WHERE {where} ORDER BY run_id"
        return [r[0] for r in self.db.execute(sql, where.params)]
