"""The orchestrator's I/O beyond the event store: the job work queue (:mod:`.workqueue`)."""
