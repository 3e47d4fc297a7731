"""The write side of tga-ingest: job-work handlers, plain async functions taking the job
(:class:`~skillstream_runtime.jobs.JobContext`) and their dependencies (:class:`.deps.Deps`); the job
worker's consumer loop, heartbeats and redelivery stay in the runtime, ``bootstrap.py`` registers them.

- :mod:`.download` — ``download`` (packages / qualifications / units) and ``reparse``;
- :mod:`.catalogue` — ``refresh_catalogue``;
- :mod:`.sync` — ``sync``;
- :mod:`.items` — one run of a job over its items (phases, concurrency, resume, cancel);
- :mod:`.fetch` — what happens to one component (TGA, raw store, parser);
- :mod:`.record` — the component decider's write path (load, decide, append, job reports);
- :mod:`.kinds` — the job kinds' specs; :mod:`.deps` — the dependencies' shapes.
"""
