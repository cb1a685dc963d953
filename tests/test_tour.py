"""The tour scenario shows every event type of every vendor at least once."""

from __future__ import annotations

import pytest
from conftest import vendor_names

from emulator.render import load, render_events
from emulator.vendors.registry import Registry


@pytest.mark.parametrize("vendor", vendor_names())
def test_tour_emits_every_event_type_of_the_vendor(vendor):
    catalog = Registry().vendor(vendor).catalog
    seen = {e.type for e in render_events(load("tour"), vendor, seed=3)}
    missing = [t for t in catalog.all_types() if t not in seen]
    assert not missing, f"{vendor}: the tour never emits {missing}"
