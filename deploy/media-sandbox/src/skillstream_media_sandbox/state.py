"""What one running sandbox app holds: settings, the catalogue (replaceable), the installed faults, the
signed-URL verifier and the stats. Touched from the app's event loop only; the catalogue is also read
from worker threads (it is thread-safe) and replaced whole, never changed in place."""

from __future__ import annotations

from skillstream_media_sandbox.catalogue import Catalogue
from skillstream_media_sandbox.faults import FaultPlan, Faults
from skillstream_media_sandbox.settings import CatalogueShape, Settings
from skillstream_media_sandbox.signing import Verifier
from skillstream_media_sandbox.stats import Stats


class SandboxState:
    """The run-time state of one sandbox app."""

    def __init__(self, settings: Settings, verifier: Verifier) -> None:
        self.settings = settings
        self.verifier = verifier
        self.catalogue = Catalogue(settings.shape())
        self.plan = FaultPlan(settings.faults)
        self.stats = Stats()

    def install_faults(self, faults: Faults) -> None:
        """Replace the whole fault set (scripts and draw counts start afresh)."""
        self.plan = FaultPlan(faults)

    def replace_catalogue(self, shape: CatalogueShape) -> None:
        """Serve a catalogue of ``shape`` from now on (requests already streaming finish on the old one)."""
        self.catalogue = Catalogue(shape)


__all__ = ["SandboxState"]
