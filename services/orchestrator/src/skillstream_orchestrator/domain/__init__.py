"""The orchestrator's domain: the job decider (:mod:`.job`). Pure: no I/O, no asyncio."""
