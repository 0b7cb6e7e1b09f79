"""A real HTTP server that plays the OPD systems' REST APIs on loopback, for tests, demos and benchmarks.

Paths and field names come from the REST sources in `config/sources.yaml`, so the simulator speaks exactly
the dialect the connectors expect. Responses are deterministic: the same seed gives byte-identical bodies.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from kotacerdas.config import ProjectConfig, RestSource
from kotacerdas.simulator.generate import GENERATORS

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_PAGE_SIZE = 5000


class _ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


class OpdSimulator:
    """Serve synthetic OPD data over HTTP on 127.0.0.1; use as a context manager or call start()/stop().

    `token`: when set, every request must carry `Authorization: Bearer <token>` or gets 401.
    """

    def __init__(self, project: ProjectConfig, seed: int = 42, token: str | None = None, *,
                 host: str = "127.0.0.1", port: int = 0):
        self.project = project
        self.seed = seed
        self._token = token
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._faults: list[tuple[int, int | None]] = []  # (status, retry_after) served before real answers
        self._lock = threading.Lock()
        self.request_count = 0
        # When True the last page points back to page 1 instead of ending (a buggy API, for loop tests).
        self.loop_pagination = False
        # path (without query) -> (table, {canonical column: source field})
        self.routes: dict[str, tuple[str, dict[str, str]]] = {}
        for source in project.sources.sources:
            if isinstance(source, RestSource) and source.table in GENERATORS:
                path = urlsplit(source.path).path
                self.routes[path] = (source.table, {canon: field for field, canon in source.columns.items()})
        self._rows = lru_cache(maxsize=256)(self._generate)

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the OPD simulator is not running: call start() or use it as a context "
                               "manager")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> OpdSimulator:
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer((self._host, self._port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="opd-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Block until interrupted (for the `simulate-opd` command)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> OpdSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- fault injection (a real misbehaving server, for retry tests and demos) -------------------------

    def fail_next(self, count: int, status: int = 503, retry_after: int | None = None) -> None:
        """Answer the next `count` requests with `status` (and a Retry-After header if given)."""
        with self._lock:
            self._faults.extend([(status, retry_after)] * count)

    def _take_fault(self) -> tuple[int, int | None] | None:
        with self._lock:
            self.request_count += 1
            return self._faults.pop(0) if self._faults else None

    # --- data ---------------------------------------------------------------------------------------------

    def rows(self, table: str, city: str, opd: str, month: str) -> list[dict]:
        """All rows of one partition with the source's field names (what the API pages through)."""
        return self._rows(table, city, opd, month)

    def _generate(self, table: str, city_code: str, opd_code: str, month: str) -> list[dict]:
        city = next((c for c in self.project.cities.cities if c.code == city_code), None)
        if city is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"unknown kode_wilayah {city_code!r}")
        opd = next((o for o in self.project.cities.opds_for(table) if o.code == opd_code), None)
        if opd is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"OPD {opd_code!r} does not publish {table} in {city_code}")
        mapping = next(m for t, m in self.routes.values() if t == table)
        canonical = GENERATORS[table](self.seed, city, opd, month)
        return [{mapping[k]: v for k, v in row.items() if k in mapping} for row in canonical]

    def respond(self, path: str, query: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """The whole API as a function: (status, extra headers, body) for a GET request."""
        try:
            if self._token is not None:
                auth = headers.get("authorization", "")
                if not hmac.compare_digest(auth.encode(), f"Bearer {self._token}".encode()):
                    raise _ApiError(HTTPStatus.UNAUTHORIZED, "missing or invalid bearer token")
            fault = self._take_fault()
            if fault is not None:
                status, retry_after = fault
                extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                return status, extra, _json({"error": "simulated failure", "status": status})
            if path not in self.routes:
                known = sorted(self.routes)
                raise _ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint {path!r}; known: {known}")
            table = self.routes[path][0]
            params = _params(query)
            rows = self.rows(table, params["kode_wilayah"], params["kode_opd"], params["bulan"])
            page, size = params["page"], params["page_size"]
            chunk = rows[(page - 1) * size: page * size]
            more = page * size < len(rows)
            next_page = page + 1 if more else (1 if self.loop_pagination else None)
            body = {"data": chunk, "page": page, "page_size": size, "total": len(rows),
                    "next_page": next_page}
            return HTTPStatus.OK, {}, _json(body)
        except _ApiError as exc:
            return exc.status, {}, _json({"error": exc.message, "status": int(exc.status)})


def _json(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _params(query: str) -> dict:
    raw = parse_qs(query, keep_blank_values=True)
    values = {k: v[-1] for k, v in raw.items()}
    missing = [k for k in ("kode_wilayah", "kode_opd", "bulan") if not values.get(k)]
    if missing:
        raise _ApiError(HTTPStatus.BAD_REQUEST, f"missing query parameter(s): {', '.join(missing)}")
    if not MONTH_RE.match(values["bulan"]):
        raise _ApiError(HTTPStatus.BAD_REQUEST, f"bulan must be YYYY-MM, got {values['bulan']!r}")
    out: dict = {k: values[k] for k in ("kode_wilayah", "kode_opd", "bulan")}
    for name, default, upper in (("page", 1, None), ("page_size", 500, MAX_PAGE_SIZE)):
        text = values.get(name, str(default))
        if not text.isdigit() or int(text) < 1 or (upper is not None and int(text) > upper):
            limit = f"1..{upper}" if upper else ">= 1"
            raise _ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be an integer {limit}, got {text!r}")
        out[name] = int(text)
    return out


def _make_handler(sim: OpdSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kotacerdas-opd-simulator"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = sim.respond(parts.path, parts.query, headers)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler
