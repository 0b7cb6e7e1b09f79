"""A real HTTP server that plays the OPD systems' REST APIs on loopback, for tests, demos and benchmarks.

Paths, query parameters and field names come from the REST sources in `config/sources.yaml`, so the simulator
speaks exactly the dialect the connectors expect: `kode_wilayah={city}&kode_opd={opd}&bulan={month}` for the
monthly OPD APIs, `kode_wilayah={city}&tahun={year}` for the yearly, per-city ones. Responses are deterministic:
the same seed gives byte-identical bodies.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from kotacerdas.config import City, ProjectConfig, RestSource
from kotacerdas.periods import MONTH_RE, TIMEZONE, YEAR_RE, period_bounds
from kotacerdas.simulator.assessments import yearly_generators
from kotacerdas.simulator.entry import entry_stamps
from kotacerdas.simulator.faults import REPLACING, Fault, transform_rows
from kotacerdas.simulator.generate import EVENTS, GENERATORS, TS_FORMAT, as_of, parse_stamp

PERIOD_FORMS = {"month": (MONTH_RE, "YYYY-MM"), "year": (YEAR_RE, "YYYY")}
CURSOR_RE = re.compile(r"^o(\d+)$")
MAX_PAGE_SIZE = 5000
DROP = 0  # status returned by respond() when the connection must be closed without an answer


@dataclass(frozen=True)
class Route:
    """One REST endpoint: the source it plays, its table, {canonical column: field name it sends} and
    {placeholder of the path template (city, opd, month or year): query parameter carrying it}."""

    source: RestSource
    table: str
    fields: dict[str, str]
    params: dict[str, str]


def _route(source: RestSource) -> Route:
    parts = urlsplit(source.path)
    if "{" in parts.path:
        raise ValueError(
            f"source {source.name!r}: the simulator serves placeholders in the query string only, "
            f"not in the path {parts.path!r}"
        )
    params = {
        value[1:-1]: name for name, value in parse_qsl(parts.query) if value.startswith("{") and value.endswith("}")
    }
    fields: dict[str, str] = {}
    for field, canon in source.columns.items():
        fields.setdefault(canon, field)  # of several aliases the API sends the first
    return Route(source, source.table, fields, params)


class _ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


class OpdSimulator:
    """Serve synthetic OPD data over HTTP on 127.0.0.1; use as a context manager or call start()/stop().

    `token`: when set, every request must carry it (`Authorization: Bearer <token>`, or the API-key header of
    a source with `auth: api_key`) or gets 401. `cities`: extra cities to serve besides cities.yaml (e.g.
    all 514 kabupaten/kota from `load_regions`). `faults`: Fault modes active from the start (add_fault()
    adds more at any time).
    """

    def __init__(
        self,
        project: ProjectConfig,
        seed: int = 42,
        token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cities: list[City] | None = None,
        faults: list[Fault] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.project = project
        # The systems' clock (an aware datetime): nothing they report happens after it. Tests freeze it.
        self.clock = clock
        self.seed = seed
        self._token = token
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._faults: list[tuple[int, int | None]] = []  # (status, retry_after) served before real answers
        self.faults: list[Fault] = list(faults or [])
        self._lock = threading.Lock()
        self.request_count = 0
        self.connection_count = 0  # TCP connections accepted: with keep-alive, fewer than the requests
        # When True the last page points back to the first instead of ending (a buggy API, for loop tests).
        self.loop_pagination = False
        self.cities: dict[str, City] = {c.code: c for c in project.cities.cities}
        self.cities.update({c.code: c for c in cities or []})
        self._edits: dict[tuple[str, str, str | None, str], dict[int, dict]] = {}
        # table -> (city, OPD or None for a per-city API, period) -> canonical rows (a monthly table's route
        # always names an OPD)
        self.generators: dict[str, Callable[..., list[dict]]] = {
            t: partial(g, seed) for t, g in GENERATORS.items()
        } | yearly_generators(project, seed)
        # path (without query) -> Route
        self.routes: dict[str, Route] = {}
        for source in project.sources.sources:
            if isinstance(source, RestSource) and source.table in self.generators:
                self.routes[urlsplit(source.path).path] = _route(source)
        # Generating is the costly part and does not depend on the clock; what the clock hides is re-read per minute.
        self._canonical = lru_cache(maxsize=256)(self._generate)
        self._mapped = lru_cache(maxsize=256)(self._as_of)

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the OPD simulator is not running: call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OpdSimulator:
        if self._server is not None:
            return self
        self._server = _QuietServer((self._host, self._port), _make_handler(self))
        self._server.on_connection = self._count_connection
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="opd-simulator", daemon=True
        )
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

    def add_fault(self, fault: Fault | str) -> Fault:
        """Switch a fault mode on (a Fault or a spec such as `opd_api_complaints:error:times=2`)."""
        fault = Fault.parse(fault) if isinstance(fault, str) else fault
        if (
            fault.target is not None
            and fault.target not in self.routes
            and fault.target not in {r.source.name for r in self.routes.values()}
        ):
            known = sorted([r.source.name for r in self.routes.values()] + list(self.routes))
            raise ValueError(f"fault target {fault.target!r} is no source or path of this simulator; known: {known}")
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self._faults.clear()

    def _count_connection(self) -> None:
        with self._lock:
            self.connection_count += 1

    def _take_fault(self) -> tuple[int, int | None] | None:
        with self._lock:
            self.request_count += 1
            return self._faults.pop(0) if self._faults else None

    def _active(self, route: Route, path: str, params: dict, page: int) -> list[Fault]:
        """The faults that change this answer (each used once): latency and transforms, plus one replacing."""
        chosen: list[Fault] = []
        replacing = False
        with self._lock:
            candidates = list(self.faults)
        for fault in candidates:
            if not fault.matches(
                source=route.source.name,
                path=path,
                city=params["city"],
                opd=params.get("opd"),
                month=params["period"],
                page=page,
            ):
                continue
            if fault.kind in REPLACING and replacing:
                continue
            if fault.take():
                chosen.append(fault)
                replacing = replacing or fault.kind in REPLACING
        return chosen

    # --- data ---------------------------------------------------------------------------------------------

    def rows(self, table: str, city: str, opd: str | None, month: str) -> list[dict]:
        """All rows of one partition with the source's field names (what the API pages through).

        `month` is the partition: YYYY-MM, or YYYY for a yearly table; `opd` is None for a per-city API.
        """
        rows = self._rows(table, city, opd, month)
        edits = self._edits.get((table, city, opd, month))
        if not edits:
            return rows
        return [{**row, **edits[i]} if i in edits else row for i, row in enumerate(rows)]

    def local_now(self) -> datetime:
        """The systems' clock as a naive WIB wall-clock time, like the stamps in their rows."""
        return self.clock().astimezone(ZoneInfo(TIMEZONE)).replace(tzinfo=None, second=0, microsecond=0)

    def route_of(self, table: str) -> Route:
        """The API route that serves a canonical table."""
        return next(r for r in self.routes.values() if r.table == table)

    def _rows(self, table: str, city: str, opd: str | None, period: str) -> list[dict]:
        return self._mapped(table, city, opd, period, self.local_now())

    def edit_rows(
        self,
        table: str,
        city: str,
        opd: str | None,
        month: str,
        count: int,
        changes: dict[str, object],
        at: str | None = None,
    ) -> list[dict]:
        """Change the first `count` rows of a partition as an OPD system would (fields by source name).

        The route's watermark field of those rows is set to `at` (default: now), so an incremental pull picks
        them up. Returns the changed rows.
        """
        route = self.route_of(table)
        stamp = at or self.clock().astimezone(UTC).strftime(TS_FORMAT)
        update = dict(changes)
        if route.source.watermark_field:
            update[route.source.watermark_field] = stamp
        with self._lock:
            edits = self._edits.setdefault((table, city, opd, month), {})
            for i in range(min(count, len(self._rows(table, city, opd, month)))):
                edits[i] = {**edits.get(i, {}), **update}
        return self.rows(table, city, opd, month)[:count]

    def _generate(self, table: str, city_code: str, opd_code: str | None, period: str) -> list[dict]:
        city = self.cities.get(city_code)
        if city is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"unknown kode_wilayah {city_code!r}")
        route = self.route_of(table)
        opd = next((o for o in self.project.cities.opds_for(table) if o.code == opd_code), None)
        if "opd" in route.params and opd is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"OPD {opd_code!r} does not publish {table} in {city_code}")
        return self.generators[table](city, opd, period)

    def _as_of(self, table: str, city_code: str, opd_code: str | None, period: str, now: datetime) -> list[dict]:
        """The partition as the system shows it at local time `now`, with the source's field names."""
        route = self.route_of(table)
        rows = self._canonical(table, city_code, opd_code, period)
        entered_field = route.source.entered_field if table in EVENTS else None
        entries: list[str] = []
        if entered_field and opd_code is not None:  # a record not entered yet is not in the system
            entered = entry_stamps(self.seed, self.project, table, city_code, opd_code, period, rows)
            shown = now.strftime(TS_FORMAT)
            kept = [(r, e) for r, e in zip(rows, entered, strict=True) if e <= shown]
            rows, entries = [r for r, _ in kept], [e for _, e in kept]
        visible = as_of(table, rows, now)
        # entered never precedes opened, so as_of hides none of the rows entered by now and the two stay aligned
        if entries and len(visible) != len(entries):
            raise RuntimeError(f"simulator: {table} {city_code} {opd_code} {period}: entries out of step with rows")
        out = []
        for i, row in enumerate(visible):
            mapped = {route.fields[k]: v for k, v in row.items() if k in route.fields}
            entry = entries[i] if entries else None
            if entry is not None and entered_field:
                mapped[entered_field] = entry
            if route.source.watermark_field:
                # The last change of a record: its latest event (submitted, completed, ...) or its entry, in UTC as
                # the sensor's and the connector's `updated_since` are.
                stamps = [parse_stamp(v) for k, v in row.items() if k.endswith("_at")] + [parse_stamp(entry)]
                start = datetime.combine(period_bounds(period)[0], datetime.min.time())
                mapped[route.source.watermark_field] = _utc_stamp(max((s for s in stamps if s), default=start))
            out.append(mapped)
        return out

    def respond(self, path: str, query: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """The whole API as a function: (status, extra headers, body) for a GET request; status 0 = drop."""
        try:
            route = self.routes.get(path)
            if self._token is not None:
                if route is not None and route.source.auth == "api_key":
                    given = headers.get(route.source.api_key_header.lower(), "")
                    expected = self._token
                else:
                    given, expected = headers.get("authorization", ""), f"Bearer {self._token}"
                if not hmac.compare_digest(given.encode(), expected.encode()):
                    raise _ApiError(HTTPStatus.UNAUTHORIZED, "missing or invalid credentials")
            fault = self._take_fault()
            if fault is not None:
                status, retry_after = fault
                extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                return status, extra, _json({"error": "simulated failure", "status": status})
            if route is None:
                known = sorted(self.routes)
                raise _ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint {path!r}; known: {known}")
            params = _params(query, route)
            size = params["page_size"]
            offset = params["offset"]
            page = offset // size + 1
            active = self._active(route, path, params, page)
            for f in active:
                if f.kind == "latency":
                    time.sleep(f.seconds)
            for f in active:
                if f.kind == "drop":
                    return DROP, {}, b""
                if f.kind == "rate_limit":
                    return (
                        HTTPStatus.TOO_MANY_REQUESTS,
                        {"Retry-After": f"{f.retry_after:g}"},
                        _json({"error": "too many requests", "status": 429}),
                    )
                if f.kind == "error":
                    return f.status, {}, _json({"error": "simulated failure", "status": f.status})
            rows = self.rows(route.table, params["city"], params.get("opd"), params["period"])
            since = params.get("updated_since")
            mark = route.source.watermark_field
            if since and mark:
                rows = [r for r in rows if isinstance(r.get(mark), str) and r[mark] > since]
            if any(f.kind == "duplicate_page" for f in active):
                offset = max(0, offset - size)
            if any(f.kind == "ignore_offset" for f in active):
                return HTTPStatus.OK, {}, _ignoring_offset(route, rows, offset, size)
            field_faults = [f for f in active if f.kind in ("rename_field", "drop_field", "wrong_type")]
            body = self._page_body(route, rows, offset, size, field_faults)
            if any(f.kind == "truncate" for f in active):
                body = body[: len(body) // 2]
            return HTTPStatus.OK, {}, body
        except _ApiError as exc:
            return exc.status, {}, _json({"error": exc.message, "status": int(exc.status)})

    def _page_body(self, route: Route, rows: list[dict], offset: int, size: int, field_faults: list[Fault]) -> bytes:
        chunk = (
            transform_rows(rows[offset : offset + size], field_faults) if field_faults else rows[offset : offset + size]
        )
        more = offset + size < len(rows)
        style = route.source.pagination
        if style == "page":
            page = offset // size + 1
            next_page = page + 1 if more else (1 if self.loop_pagination else None)
            return _json({"data": chunk, "page": page, "page_size": size, "total": len(rows), "next_page": next_page})
        if style == "offset":
            return _json({"data": chunk, "offset": offset, "limit": size, "total": len(rows)})
        next_cursor = f"o{offset + size}" if more else ("o0" if self.loop_pagination else None)
        return _json({"data": chunk, "next_cursor": next_cursor})


def _utc_stamp(local: datetime) -> str:
    return local.replace(tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC).strftime(TS_FORMAT)


def _ignoring_offset(route: Route, rows: list[dict], offset: int, size: int) -> bytes:
    """The first page again, whatever was asked, stamped with the time: no two answers have the same bytes."""
    body: dict = {"data": rows[:size], "server_time": datetime.now(UTC).isoformat(timespec="microseconds")}
    if route.source.pagination == "page":
        body["next_page"] = offset // size + 2
    elif route.source.pagination == "cursor":
        body["next_cursor"] = f"o{offset + size}"
    return _json(body)


class _QuietServer(ThreadingHTTPServer):
    on_connection: Callable[[], None] | None = None

    def verify_request(self, request, client_address) -> bool:  # called once per accepted connection
        if self.on_connection is not None:
            self.on_connection()
        return super().verify_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (read timeout) leaves a broken pipe behind: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _json(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _int_param(values: dict, name: str, default: int, lower: int, upper: int | None) -> int:
    text = values.get(name, str(default))
    if not text.isdigit() or int(text) < lower or (upper is not None and int(text) > upper):
        limit = f"{lower}..{upper}" if upper else f">= {lower}"
        raise _ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be an integer {limit}, got {text!r}")
    return int(text)


def _params(query: str, route: Route) -> dict:
    """The partition asked for (`city`, `opd` if the API has it, `period`) and the page, from the query."""
    raw = parse_qs(query, keep_blank_values=True)
    values = {k: v[-1] for k, v in raw.items()}
    missing = [name for name in route.params.values() if not values.get(name)]
    if missing:
        raise _ApiError(HTTPStatus.BAD_REQUEST, f"missing query parameter(s): {', '.join(missing)}")
    out: dict = {}
    for placeholder, name in route.params.items():
        if placeholder in PERIOD_FORMS:
            pattern, form = PERIOD_FORMS[placeholder]
            if not pattern.match(values[name]):
                raise _ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be {form}, got {values[name]!r}")
            out["period"] = values[name]
        else:
            out[placeholder] = values[name]
    if values.get("updated_since"):
        out["updated_since"] = values["updated_since"]
    pagination = route.source.pagination
    if pagination == "page":
        page = _int_param(values, "page", 1, 1, None)
        out["page_size"] = _int_param(values, "page_size", 500, 1, MAX_PAGE_SIZE)
        out["offset"] = (page - 1) * out["page_size"]
    elif pagination == "offset":
        out["page_size"] = _int_param(values, "limit", 500, 1, MAX_PAGE_SIZE)
        out["offset"] = _int_param(values, "offset", 0, 0, None)
    else:
        out["page_size"] = _int_param(values, "limit", 500, 1, MAX_PAGE_SIZE)
        cursor = values.get("cursor", "o0")
        m = CURSOR_RE.match(cursor)
        if not m:
            raise _ApiError(HTTPStatus.BAD_REQUEST, f"invalid cursor {cursor!r}")
        out["offset"] = int(m.group(1))
    return out


def _make_handler(sim: OpdSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kotacerdas-opd-simulator"
        sys_version = ""

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle's algorithm meets the client's
            # delayed ACK and every answer waits ~40 ms.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = sim.respond(parts.path, parts.query, headers)
            if status == DROP:  # a dropped connection: no status line, nothing
                self.close_connection = True
                return
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
