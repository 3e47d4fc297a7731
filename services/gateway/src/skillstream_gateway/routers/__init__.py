"""The gateway's API routers, one module per area; :func:`skillstream_gateway.app.create_app` includes them.

- :mod:`.jobs`: ``/api/job-kinds``, ``/api/jobs``, ``/api/jobs/{job_id}``, ``…/cancel``, ``…/retry-failed``
  (permissions ``jobs.view`` / ``jobs.manage``);
- :mod:`.progress`: the server-sent progress streams ``/api/jobs/{job_id}/events`` and ``/api/events``
  (``jobs.view``);
- :mod:`.catalogue`: the TGA catalogue, ``/api/{family}/…``, ``/api/units/{code}/…``,
  ``/api/qualifications/{code}/comprehensive``, ``/api/catalogue/stats`` (``catalogue.manage``);
- :mod:`.media`: the media library, ``/truefire-courses/*`` (``media.manage``).

Each route is one (at most two) commands or queries over NATS whose reply is relayed; a service's typed error
becomes a problem document (:mod:`skillstream_gateway.problems`). Each module's ``SCHEMA_TYPES`` lists the
msgspec reply bodies its routes ``$ref``, for the OpenAPI components.
"""
