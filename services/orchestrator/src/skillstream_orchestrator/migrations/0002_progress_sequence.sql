-- The progress sequence: every change of a job's progress document takes the next value, in commit order
-- (the progress projection takes a transaction-scoped advisory lock before it draws values). It lives in
-- the service schema, not in a projection generation, so the SSE ids browsers hold stay monotonic across a
-- blue/green rebuild.
CREATE SEQUENCE IF NOT EXISTS orchestrator.progress_seq AS bigint;
