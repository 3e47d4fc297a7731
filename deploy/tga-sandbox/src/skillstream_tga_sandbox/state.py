"""What changes while a sandbox runs: faults, bumped modified dates, deletions, counters and a request log.

One :class:`SandboxState` per app; it is only touched from the app's event loop, so it needs no lock.
``POST /_sandbox/reset`` returns it to the start: the faults given at start, no modifications, no
deletions, zero counters.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Literal

from skillstream_tga_sandbox.catalogue import Catalogue, Component
from skillstream_tga_sandbox.settings import Faults
from skillstream_tga_sandbox.wire import ComponentView

DeleteOperation = Literal["PhysicalDelete", "LogicalDelete"]
"""XSD ``DeleteOperation``."""
_LOG_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Deletion:
    """XSD ``DeletedTrainingComponent``: ``PhysicalDelete`` hides the component from Search and GetDetails;
    ``LogicalDelete`` keeps it, with usage ``Deleted`` (Search shows it only with ``IncludeDeleted``)."""

    code: str
    operation: DeleteOperation
    deleted: dt.datetime


class SandboxState:
    """The run-time state of one sandbox app (see module docstring)."""

    faults: Faults
    modified: dict[str, dt.datetime]
    deletions: dict[str, Deletion]
    soap_requests: int
    operations: Counter[str]
    injected: Counter[str]
    files_served: int
    file_bytes: int
    auth_failures: int
    log: deque[dict[str, Any]]

    def __init__(self, catalogue: Catalogue, initial_faults: Faults) -> None:
        self.catalogue = catalogue
        self._initial_faults = initial_faults.model_copy(deep=True)
        self.reset()

    def reset(self) -> None:
        """Back to the start (faults as given at start, no changes, zero counters)."""
        self.faults = self._initial_faults.model_copy(deep=True)
        self.modified = {}
        self.deletions = {}
        self.soap_requests = 0
        self.operations = Counter()
        self.injected = Counter()
        self.files_served = 0
        self.file_bytes = 0
        self.auth_failures = 0
        self.log = deque(maxlen=_LOG_SIZE)

    def view(self, component: Component) -> ComponentView:
        """The component with its current UpdatedDate and usage (``Deleted`` once logically deleted)."""
        deletion = self.deletions.get(component.code)
        return ComponentView(
            component=component,
            updated=self.modified.get(component.code, component.modified),
            usage="Deleted" if deletion is not None else component.usage,
            deleted=deletion.deleted if deletion is not None else None,
        )

    def lookup(self, code: str) -> Component | None:
        """The component served under ``code``; None if unknown or physically deleted."""
        deletion = self.deletions.get(code)
        if deletion is not None and deletion.operation == "PhysicalDelete":
            return None
        return self.catalogue.by_code.get(code)

    def mark_modified(self, code: str, when: dt.datetime) -> None:
        """Set ``code``'s UpdatedDate (SearchByModifiedDate then finds it in a window holding ``when``)."""
        self.modified[code] = when

    def mark_deleted(self, code: str, operation: DeleteOperation, when: dt.datetime) -> Deletion:
        """Record a deletion (the latest per code wins) and bump its UpdatedDate to ``when``."""
        deletion = Deletion(code=code, operation=operation, deleted=when)
        self.deletions[code] = deletion
        self.modified[code] = when
        return deletion

    def record(self, kind: str, status: int, **fields: Any) -> None:
        """Append one request to the log (the last 1,000 are kept)."""
        self.log.append({"kind": kind, "status": status, **fields})

    def stats(self) -> dict[str, Any]:
        """``GET /_sandbox/stats``: counters and the request log (oldest first)."""
        return {
            "soap_requests": self.soap_requests,
            "operations": dict(self.operations),
            "files_served": self.files_served,
            "file_bytes": self.file_bytes,
            "auth_failures": self.auth_failures,
            "faults_injected": dict(self.injected),
            "modified": {code: when.isoformat() for code, when in self.modified.items()},
            "deleted": {
                code: {"operation": d.operation, "deleted_date": d.deleted.isoformat()}
                for code, d in self.deletions.items()
            },
            "log": list(self.log),
        }


__all__ = ["DeleteOperation", "Deletion", "SandboxState"]
