"""The only modules of tga-ingest that do I/O.

- :mod:`~skillstream_tga_ingest.adapters.client` — TGA's ``TrainingComponentService`` (SOAP 1.1) and its
  release files over HTTP;
- :mod:`~skillstream_tga_ingest.adapters.rawstore` — the release XML as downloaded, in the JetStream object
  store ``tga_raw``.

Handlers receive them as dependencies (see :mod:`skillstream_tga_ingest.handlers.deps` for the shapes they
rely on), so unit tests pass fakes instead.
"""
