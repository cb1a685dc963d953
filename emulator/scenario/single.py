"""A one-step scenario for one action, like ``stripe trigger``: what ``trigger`` plays."""

from __future__ import annotations

from typing import Any

import yaml


def single_action(action: str, params: dict[str, Any], actor: dict[str, Any] | None = None) -> str:
    """Scenario YAML in which one actor performs ``action`` with ``params`` (checked when loaded)."""
    step = {action: {"actor": "someone", **params}}
    text = yaml.safe_dump(
        {"name": f"trigger-{action}", "actors": {"someone": actor or {}}, "steps": [step]}, sort_keys=False
    )
    return text
