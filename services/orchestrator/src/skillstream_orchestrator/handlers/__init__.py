"""The orchestrator's write side: command handlers (:mod:`.commands`) and reactions (:mod:`.reactions`),
plain async functions taking the message and their dependencies."""
