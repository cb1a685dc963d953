"""The locustfile ``idp-emulator load`` runs: the emulator's user class, nothing else.

Yours can be this one line too, next to users of your own.
"""

from emulator.load import ScenarioUser

__all__ = ["ScenarioUser"]
