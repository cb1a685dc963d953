"""Persistence: runs, events, deliveries and attempts (SQLite)."""
