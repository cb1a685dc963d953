"""Testing toolkit: the pytest plugin, a programmable webhook receiver, signature checks."""
