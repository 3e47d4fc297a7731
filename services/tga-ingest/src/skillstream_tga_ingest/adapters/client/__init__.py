"""TGA client: the real ``TrainingComponentService`` SOAP 1.1 web services and release file downloads.

``TgaClient`` (``client.py``) speaks the operations and pages; ``transport.py`` sends them politely (limits,
retries, size cap); ``requests.py`` builds the envelopes and ``replies.py`` reads them (real WSDL/XSDs in
``real-data/tga/wsdl/``, TGA-FORMAT.md §1), with ``values.py`` reading single XSD values and ``namespaces.py``
naming the namespaces; ``files.py`` picks the release and file to download; ``errors.py`` draws the exception
tree; ``settings.py`` reads ``TGA_*`` from the environment.
"""

from __future__ import annotations

from skillstream_tga_ingest.adapters.client.client import TgaClient
from skillstream_tga_ingest.adapters.client.errors import (
    TgaAuthError,
    TgaError,
    TgaFileError,
    TgaMessageTooLarge,
    TgaSoapFault,
    TgaTransportError,
    TgaValidationFault,
    ValidationErrorDetail,
)
from skillstream_tga_ingest.adapters.client.files import choose_release_file, file_url_path, latest_release
from skillstream_tga_ingest.adapters.client.models import (
    ComponentDetails,
    ComponentSummary,
    DeletedComponent,
    Mapping,
    Release,
    ReleaseComponent,
    ReleaseFile,
    SearchPage,
    UnitGridEntry,
    UsageRecommendationPeriod,
)
from skillstream_tga_ingest.adapters.client.settings import TgaSettings

__all__ = [
    "ComponentDetails",
    "ComponentSummary",
    "DeletedComponent",
    "Mapping",
    "Release",
    "ReleaseComponent",
    "ReleaseFile",
    "SearchPage",
    "TgaAuthError",
    "TgaClient",
    "TgaError",
    "TgaFileError",
    "TgaMessageTooLarge",
    "TgaSettings",
    "TgaSoapFault",
    "TgaTransportError",
    "TgaValidationFault",
    "UnitGridEntry",
    "UsageRecommendationPeriod",
    "ValidationErrorDetail",
    "choose_release_file",
    "file_url_path",
    "latest_release",
]
