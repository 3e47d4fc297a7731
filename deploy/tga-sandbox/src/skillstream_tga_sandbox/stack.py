"""How ``skillstream up`` runs the TGA sandbox and points tga-ingest at it (``skillstream.sandboxes``)."""

from __future__ import annotations

from skillstream_runtime.sandboxes import SandboxDefinition

DEFAULT_PORT = 8190
SERVICE_PATH = "/Deewr.Tga.WebServices/TrainingComponentService.svc/Training"


def _service_env(port: int) -> dict[str, str]:
    base = f"http://127.0.0.1:{port}"
    return {
        "TGA_ENVIRONMENT": "local",
        "TGA_ENDPOINT": base + SERVICE_PATH,
        "TGA_FILES_BASE_URL": base,
        # a local sandbox needs no politeness towards TGA's servers
        "TGA_REQUESTS_PER_SECOND": "200",
        "TGA_MAX_CONCURRENCY": "8",
    }


def sandbox() -> SandboxDefinition:
    """The TGA sandbox, skipped when ``TGA_ENVIRONMENT`` or ``TGA_ENDPOINT`` is already set."""
    return SandboxDefinition(
        name="tga-sandbox",
        module="skillstream_tga_sandbox",
        default_port=DEFAULT_PORT,
        service_env=_service_env,
        skip_if_set=("TGA_ENVIRONMENT", "TGA_ENDPOINT"),
    )


__all__ = ["DEFAULT_PORT", "SERVICE_PATH", "sandbox"]
