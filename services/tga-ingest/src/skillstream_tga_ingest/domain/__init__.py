"""The rules of tga-ingest, pure: no I/O, no asyncio.

- :mod:`.component` — the TGA component item as a decider (state folded from its subject
  ``tga.<type>.<code>``, commands, the events they decide);
- :mod:`.items` — a job's items: keys (``unit:BSBCMM412``), progress groups, a package job's second phase;
- :mod:`.outcomes` — what happened to one component, as the event to record: TGA's ``GetDetails`` reply and
  the parsed release file (or why it failed) → ``UnitDownloaded`` / ``QualificationDownloaded`` / … /
  ``ComponentDownloadFailed`` / ``UnitParseFailed``, and the counts a job's summary adds up;
- :mod:`.sync` — catalogue pages and the incremental sync's rules (window, what to re-download, deletions);
- :mod:`.vocabulary` — TGA's names (XSD ``TrainingComponentTypes``, ``UsageRecommendationState``) as ours.

The domain reads TGA's replies as the client's plain value types (``adapters/client/models.py``, the XSD
types, and the release rules of ``adapters/client/files.py``) and the parser's results (``parser/``, itself
pure); it never calls the client, the raw store or the event store.
"""
