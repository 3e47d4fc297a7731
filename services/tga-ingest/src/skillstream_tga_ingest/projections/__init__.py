"""The read side of tga-ingest: PostgreSQL read models folded from the ``TGA`` stream, and the queries.

- :mod:`.catalogue` — what TGA lists, packages, qualifications, skill sets (``CatalogueProjection``), with
  :mod:`.component_state` (downloaded / processed / latest failure per component);
- :mod:`.units` — units of competency and their parsed content (``UnitsProjection``);
- :mod:`._readmodel` — the SQL both share (bulk upserts, child rows, supersession and deletion marks);
- :mod:`.queries` — read functions over the views in ``tga_ingest``; :mod:`.endpoints` — the ``qry.tga.*``
  endpoints that call them; :mod:`.held` — what the job handlers read back (components held, outdated).
"""

from __future__ import annotations

from skillstream_runtime.projections import Projection
from skillstream_tga_ingest.projections.catalogue import CatalogueProjection
from skillstream_tga_ingest.projections.units import UnitsProjection

PROJECTIONS: tuple[Projection, ...] = (CatalogueProjection(), UnitsProjection())
"""The tga-ingest read models, as the service definition runs them."""

__all__ = ["PROJECTIONS"]
