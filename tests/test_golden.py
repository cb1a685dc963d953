"""Golden files: every bundled scenario for every vendor at a fixed seed and start time.

A change to a template or catalog shows up here as a readable diff to review against the seed
documents and the references. After such a review, regenerate with
``UPDATE_GOLDEN=1 pytest tests/test_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import scenario_names, vendor_names

from emulator.render import load, render_events

GOLDEN = Path(__file__).resolve().parent / "golden"
SEED = 7


def current(scenario: str, vendor: str) -> str:
    records = [e.record() for e in render_events(load(scenario), vendor, SEED)]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("vendor", vendor_names())
@pytest.mark.parametrize("scenario", scenario_names())
def test_output_matches_the_reviewed_golden_file(scenario, vendor):
    path = GOLDEN / vendor / f"{scenario}.json"
    text = current(scenario, vendor)
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    assert path.is_file(), f"no golden file {path}; create it with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text("utf-8"), f"{vendor}/{scenario} changed; review the diff, then UPDATE_GOLDEN=1"


def test_no_stale_golden_files():
    expected = {f"{v}/{s}.json" for v in vendor_names() for s in scenario_names()}
    present = {str(p.relative_to(GOLDEN)) for p in GOLDEN.glob("*/*.json")}
    assert present <= expected, (
        f"golden files for scenarios or vendors that no longer exist: {sorted(present - expected)}"
    )
