"""idp-emulator: play identity-provider scenarios and get each vendor's exact webhook events."""

__version__ = "0.1.0"
