"""The sandbox's HTTP surface: TGA's SOAP endpoint, its WSDL/XSDs, the release files, and the control API.

Paths (matched case-insensitively, as IIS does; TGA-FORMAT.md §1.1):

- ``POST /Deewr.Tga.WebServices/TrainingComponentService.svc/Training`` — SOAP 1.1 (``text/xml``; another
  content type → 415 as WCF's basicHttpBinding answers).
- ``GET /Deewr.Tga.WebServices/TrainingComponentService.svc?wsdl`` (also on ``…/Training``) — the real
  WSDL bytes; ``GET /Deewr.Tga.WebServices/<name>.xsd`` — the real XSDs it imports by relative path.
- ``GET /TrainingComponentFiles/<RelativePath with / or \\>`` — a real file's bytes (``application/xml``),
  404 otherwise. Only paths in the catalogue's index are served: the request path never reaches the
  file system, so no traversal is possible.
- ``/_sandbox/…`` — the control API (:mod:`skillstream_tga_sandbox.control`); ``GET /healthz`` → 200
  for ``skillstream up``.

Order of a SOAP request: latency → ``http_500_every_nth`` → envelope → UsernameToken (WCF checks security
before dispatch) → operation → per-code faults → the reply.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from skillstream_runtime.realdata import real_data
from skillstream_tga_sandbox import operations, soap_in
from skillstream_tga_sandbox.catalogue import TGA_OFFSET, load_catalogue
from skillstream_tga_sandbox.control import control_routes
from skillstream_tga_sandbox.errors import InjectedServerError, InvalidSecurity, SoapFault
from skillstream_tga_sandbox.settings import Settings
from skillstream_tga_sandbox.state import SandboxState
from skillstream_tga_sandbox.wire import envelope, fault_envelope

SERVICE_PATH = "/Deewr.Tga.WebServices/TrainingComponentService.svc/Training"
"""The SOAP 1.1 (basicHttp) endpoint path of the real WSDL's ``soap:address``."""
FILES_PATH = "/TrainingComponentFiles/"
"""Where TGA serves release files (TGA-FORMAT.md §1.5)."""
_SVC = "/deewr.tga.webservices/trainingcomponentservice.svc"
_DOCS = "/deewr.tga.webservices/"
_FILES = FILES_PATH.lower()
_XML = "text/xml; charset=utf-8"
# IIS's stock 500 page (custom errors, detail off): what a client gets when the service behind IIS breaks.
_IIS_500 = b"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>500 - Internal server error.</title>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <div class="content-container"><fieldset>
  <h2>500 - Internal server error.</h2>
  <h3>There is a problem with the resource you are looking for, and it cannot be displayed.</h3>
 </fieldset></div>
</div>
</body>
</html>
"""


class _CutResponse(Response):
    """Declares the full Content-Length, sends ``body`` (a part) and ends without the rest: the server then
    closes the connection, and the client sees a body shorter than declared."""

    def __init__(self, part: bytes, declared: int) -> None:
        super().__init__(content=part, media_type="application/xml")
        self.headers["content-length"] = str(declared)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})


async def _healthz(_: Request) -> Response:
    """Liveness for ``skillstream up`` (it polls ``/healthz`` of every child)."""
    return Response("ok", media_type="text/plain")


def _iis_500() -> Response:
    return Response(_IIS_500, status_code=500, media_type="text/html")


class _Sandbox:
    """Request handlers bound to one app's settings and state."""

    def __init__(self, settings: Settings, state: SandboxState) -> None:
        self.settings = settings
        self.state = state

    async def dispatch(self, request: Request) -> Response:
        path = request.scope["path"].lower()
        if self.state.faults.latency_ms:
            await asyncio.sleep(self.state.faults.latency_ms / 1000)
        if request.method == "POST" and path == _SVC + "/training":
            return await self.soap(request)
        if request.method == "POST":
            return Response("Method Not Allowed", status_code=405, media_type="text/plain")
        if path in {_SVC, _SVC + "/training"} and "wsdl" in {key.lower() for key in request.query_params}:
            return self.document(self.state.catalogue.wsdl_path.name.lower())
        if path.startswith(_DOCS) and path.count("/") == 2:
            return self.document(path.removeprefix(_DOCS))
        if path.startswith(_FILES):
            return self.file(request.scope["path"][len(_FILES) :])
        return Response("Not Found", status_code=404, media_type="text/plain")

    def document(self, name: str) -> Response:
        path = self.state.catalogue.service_documents.get(name)
        if path is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(path.read_bytes(), media_type=_XML)

    def file(self, relative: str) -> Response:
        key = relative.replace("\\", "/").lower()
        found = self.state.catalogue.files.get(key)
        if found is None:
            self.state.record("file", 404, path=relative)
            return Response("Not Found", status_code=404, media_type="text/plain")
        component, entry = found
        data = entry.path.read_bytes()
        response: Response = Response(data, media_type="application/xml")
        if component.code in self.state.faults.truncated_files:
            self.state.injected["truncated_files"] += 1
            data = data[: len(data) // 2]
            short = self.state.faults.truncate_mode == "short"
            response = Response(data, media_type="application/xml") if short else _CutResponse(data, entry.size)
        self.state.files_served += 1
        self.state.file_bytes += len(data)
        self.state.record("file", response.status_code, path=entry.url_path, code=component.code, bytes=len(data))
        return response

    async def soap(self, request: Request) -> Response:
        state = self.state
        state.soap_requests += 1
        nth = state.faults.http_500_every_nth
        if nth and state.soap_requests % nth == 0:
            state.injected["http_500_every_nth"] += 1
            state.record("soap", 500, op=None, fault="http_500_every_nth")
            return _iis_500()
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("text/xml"):
            state.record("soap", 415, op=None, content_type=content_type)
            return Response(
                f"Cannot process the message because the content type '{content_type}' was not the expected "
                "type 'text/xml; charset=utf-8'.",
                status_code=415,
                media_type="text/plain",
            )
        now = dt.datetime.now(TGA_OFFSET)
        entry: dict[str, object] = {"op": None}
        try:
            message = soap_in.read_envelope(await request.body())
            try:
                soap_in.check_credentials(message, self.settings.username, self.settings.password.get_secret_value())
            except InvalidSecurity:
                state.auth_failures += 1
                raise
            operation = soap_in.operation_of(message, request.headers.get("soapaction"))
            entry["op"] = operation
            state.operations[operation] += 1
            body = self.run(operation, message, now, entry)
            state.record("soap", 200, **entry)
            return Response(envelope(body, now), media_type=_XML)
        except InjectedServerError as e:
            state.injected[e.fault] += 1
            state.record("soap", 500, fault=e.fault, **entry)
            return _iis_500()
        except SoapFault as fault:
            state.record("soap", fault.http_status, fault=fault.code, **entry)
            return Response(fault_envelope(fault, now), status_code=fault.http_status, media_type=_XML)

    def run(
        self, operation: str, message: soap_in.SoapRequest, now: dt.datetime, entry: dict[str, object]
    ) -> etree._Element:
        """Read the operation's request, note its code/paging in ``entry`` and answer it."""
        state, settings = self.state, self.settings
        if operation == "GetDetails":
            details = soap_in.details_request(message.body)
            entry["code"] = details.code
            return operations.get_details(state, details)
        if operation == "Search":
            search = soap_in.search_request(message.body)
            entry.update(page_number=search.paging.page_number, page_size=search.paging.page_size)
            return operations.search(state, settings, search)
        if operation == "SearchByModifiedDate":
            modified = soap_in.modified_search_request(message.body)
            entry.update(page_number=modified.paging.page_number, page_size=modified.paging.page_size)
            return operations.search_by_modified_date(state, settings, modified)
        if operation == "SearchDeletedByDeletedDate":
            return operations.search_deleted_by_deleted_date(
                state, settings, soap_in.deleted_search_request(message.body)
            )
        return operations.get_server_time(now)


def create_app(settings: Settings | None = None) -> Starlette:
    """A sandbox app over the real data (read once per process, about 0.3 s) with fresh state.

    ``app.state.sandbox`` is the :class:`~skillstream_tga_sandbox.state.SandboxState`.

    Raises:
        CatalogueError: the real data cannot be read.
        RealDataNotFound: no ``real-data`` folder was found (``skillstream_runtime.realdata``).
    """
    settings = settings or Settings()
    tga_dir = (settings.tga_data_dir or real_data("tga")).resolve()
    catalogue = load_catalogue(tga_dir, settings.undated_modified)
    state = SandboxState(catalogue, settings.faults)
    sandbox = _Sandbox(settings, state)
    app = Starlette(
        routes=[
            Route("/healthz", _healthz, methods=["GET"]),
            Mount("/_sandbox", routes=control_routes(state)),
            Route("/{path:path}", sandbox.dispatch, methods=["GET", "HEAD", "POST"]),
        ]
    )
    app.state.sandbox = state
    app.state.settings = settings
    return app


__all__ = ["FILES_PATH", "SERVICE_PATH", "create_app"]
