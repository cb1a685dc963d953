"""What people keep in the store through the API: uploaded scenarios and saved targets."""

from __future__ import annotations

import json
from typing import Any

from emulator.store.connection import Connection, now_ms
from emulator.store.rows import SavedTarget


class Library(Connection):
    """Scenarios by name (their YAML) and targets by name (configs without literal secrets)."""

    def save_scenario(self, name: str, text: str) -> None:
        self._write(
            lambda cur: cur.execute(
                "INSERT INTO scenarios (name, yaml, updated_ms) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET yaml = excluded.yaml, updated_ms = excluded.updated_ms",
                (name, text, now_ms()),
            )
        )

    def scenario(self, name: str) -> str | None:
        row = self.db.execute("SELECT yaml FROM scenarios WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def scenario_names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM scenarios ORDER BY name")]

    def delete_scenario(self, name: str) -> bool:
        return bool(self._write(lambda cur: cur.execute("DELETE FROM scenarios WHERE name = ?", (name,)).rowcount))

    def save_target(self, name: str, config: dict[str, Any]) -> None:
        """Keep a target made through the API (its config as ``stored_spec`` gives it: no literal secret)."""
        stamp = now_ms()
        self._write(
            lambda cur: cur.execute(
                "INSERT INTO saved_targets (name, config, created_ms, updated_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_ms = excluded.updated_ms",
                (name, json.dumps(config), stamp, stamp),
            )
        )

    def saved_targets(self) -> list[SavedTarget]:
        """Every saved target: name, config, created and updated (ms)."""
        rows = self.db.execute("SELECT name, config, created_ms, updated_ms FROM saved_targets ORDER BY name")
        return [
            SavedTarget(name=name, config=json.loads(config), created_ms=created, updated_ms=updated)
            for name, config, created, updated in rows
        ]

    def delete_target(self, name: str) -> bool:
        return bool(self._write(lambda cur: cur.execute("DELETE FROM saved_targets WHERE name = ?", (name,)).rowcount))
