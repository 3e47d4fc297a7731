"""``create_app`` assembles the routers into exactly the routes below: each (method, path) with the permission
its OpenAPI operation declares, plus the routes kept out of the document (the docs and the dashboard shell).
A route added, dropped, moved to another path or given another permission fails here."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import SecretStr
from starlette.routing import Route

from skillstream_gateway.app import create_app
from skillstream_gateway.settings import GatewaySettings

OPERATIONS = {
    ("POST", "/auth/session", None),
    ("GET", "/auth/session", None),
    ("DELETE", "/auth/session", None),
    # jobs
    ("GET", "/api/job-kinds", "jobs.view"),
    ("GET", "/api/jobs", "jobs.view"),
    ("POST", "/api/jobs", "jobs.manage"),
    ("GET", "/api/jobs/{job_id}", "jobs.view"),
    ("POST", "/api/jobs/{job_id}/cancel", "jobs.manage"),
    ("POST", "/api/jobs/{job_id}/retry-failed", "jobs.manage"),
    ("POST", "/api/jobs/{job_id}/resume", "jobs.manage"),
    # progress (server-sent events)
    ("GET", "/api/jobs/{job_id}/events", "jobs.view"),
    ("GET", "/api/events", "jobs.view"),
    # TGA catalogue
    ("GET", "/api/training-packages/available", "catalogue.manage"),
    ("POST", "/api/training-packages/bulk-download", "catalogue.manage"),
    ("GET", "/api/training-packages/download-status/{job_id}", "catalogue.manage"),
    ("GET", "/api/qualifications/available", "catalogue.manage"),
    ("POST", "/api/qualifications/bulk-download", "catalogue.manage"),
    ("GET", "/api/qualifications/download-status/{job_id}", "catalogue.manage"),
    ("GET", "/api/units/available", "catalogue.manage"),
    ("POST", "/api/units/bulk-download", "catalogue.manage"),
    ("GET", "/api/units/download-status/{job_id}", "catalogue.manage"),
    ("GET", "/api/skill-sets/available", "catalogue.manage"),
    ("GET", "/api/units/{code}/elements", "catalogue.manage"),
    ("GET", "/api/units/{code}/performance-criteria", "catalogue.manage"),
    ("GET", "/api/units/{code}/comprehensive", "catalogue.manage"),
    ("GET", "/api/qualifications/{code}/comprehensive", "catalogue.manage"),
    ("GET", "/api/catalogue/stats", "catalogue.manage"),
    # media library
    ("GET", "/truefire-courses/download-all-courses", "media.manage"),
    ("POST", "/truefire-courses/download-all-courses", "media.manage"),
    ("GET", "/truefire-courses/bulk-download-status", "media.manage"),
    ("GET", "/truefire-courses/bulk-download-stats", "media.manage"),
    ("GET", "/truefire-courses/bulk-queue-status", "media.manage"),
    ("GET", "/truefire-courses/summary", "media.manage"),
    ("GET", "/truefire-courses/{course_id}/download-status", "media.manage"),
}
"""Every operation of the OpenAPI document: (method, path, ``x-permission``)."""

UNDOCUMENTED = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/"),
    ("GET", "/static/{path:path}"),
}
"""Plain routes outside the document (each also answers HEAD)."""

STATUS = {
    ("POST", "/api/jobs"): "201",
    ("POST", "/api/jobs/{job_id}/cancel"): "202",
    ("POST", "/api/jobs/{job_id}/retry-failed"): "201",
    ("POST", "/api/jobs/{job_id}/resume"): "201",
    ("POST", "/api/training-packages/bulk-download"): "201",
    ("POST", "/api/qualifications/bulk-download"): "201",
    ("POST", "/api/units/bulk-download"): "201",
    ("GET", "/truefire-courses/download-all-courses"): "202",
    ("POST", "/truefire-courses/download-all-courses"): "202",
    ("DELETE", "/auth/session"): "204",
}
"""Success statuses other than 200."""

REPEATABLE = {
    ("POST", "/api/jobs"),
    ("POST", "/api/jobs/{job_id}/retry-failed"),
    ("POST", "/api/jobs/{job_id}/resume"),
    ("POST", "/api/training-packages/bulk-download"),
    ("POST", "/api/qualifications/bulk-download"),
    ("POST", "/api/units/bulk-download"),
}
"""Routes that also answer 200 (documented) when an earlier request made the job already."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = GatewaySettings(jwt_secret=SecretStr("x" * 48), data_dir=Path(tmp_path_factory.mktemp("gw")))
    # no NATS: only the routes are looked at
    return create_app(SimpleNamespace(nc=None, definition=SimpleNamespace(version="test")), settings)


def test_the_openapi_document_has_exactly_the_expected_operations(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    found = {(m.upper(), p, op.get("x-permission")) for p, item in paths.items() for m, op in item.items()}
    assert found == OPERATIONS


def test_success_statuses_are_unchanged(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for method, path, _ in OPERATIONS:
        responses = paths[path][method.lower()]["responses"]
        ok = [status for status in responses if status.startswith("2")]
        expected = [STATUS.get((method, path), "200")] + (["200"] if (method, path) in REPEATABLE else [])
        assert ok == expected, (method, path)


def test_the_undocumented_routes_are_there(app: FastAPI) -> None:
    plain = {
        (m, r.path)
        for r in app.routes
        if isinstance(r, Route) and not isinstance(r, APIRoute)
        for m in r.methods or ()
        if m != "HEAD"
    }
    assert plain == UNDOCUMENTED
