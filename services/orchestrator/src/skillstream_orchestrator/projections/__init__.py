"""The orchestrator's read side: the ``jobs`` and ``job_progress`` read models, the queries that read them
and the publisher that streams progress documents to the gateway."""
