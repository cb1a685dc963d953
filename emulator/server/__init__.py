"""The emulator as a running service: HTTP routes over the store and the runner."""
