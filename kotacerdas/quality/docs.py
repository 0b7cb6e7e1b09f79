"""Data Docs: one self-contained quality page per validation (table × city × month × run) and an index of them all.

The project renders these pages itself from the stored validation result (a JSON file beside each page) instead of
GX's Data Docs: GX's pages load Bootstrap, jQuery and Vega from CDNs (unstyled or blank on an intranet without
internet), and its site builder deletes every page whose result is no longer in its store, so a batched run kept
only the last partition's page per table. Here a page's path is fixed by its run, table and partition and nothing
ever deletes it. Bahasa Indonesia first, English second; every text passes the personal-data scrubber.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, SupportsFloat, cast

import jinja2
import pandas as pd

from kotacerdas.config import ProjectConfig, settings
from kotacerdas.periods import TIMEZONE
from kotacerdas.privacy import scrub_value
from kotacerdas.quality.quarantine import failing_rows, first_per_rule
from kotacerdas.rounding import format_half_up

TEMPLATES = Path(__file__).resolve().parent / "templates"
INDEX_PAGE = "index.html"
_ENTRIES = "validations.jsonl"  # one line per page written: what the index lists


def page_path(run_name: str, table: str, city: str, month: str) -> str:
    """Where a validation's page lives, relative to the Data Docs root: one file per run × table × partition."""
    return f"{run_name}/{table}/{city}_{month}.html"


def _plain(value: object) -> object:
    """A JSON-ready value: numpy and pandas scalars to Python, missing to None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _wall_clock(at: pd.Timestamp) -> str:
    """A validation's time as a steward reads it: Jakarta's wall clock, named (a bare 19:56 read as UTC is seven
    hours off). The gate's `now` is naive Jakarta time; an aware time is converted."""
    at = pd.Timestamp(at)
    if at.tz is not None:
        at = at.tz_convert(TIMEZONE).tz_localize(None)
    return f"{at.isoformat(sep=' ', timespec='seconds')} WIB"


# What each of staging's own rules means, for a page's reader (the suite's rules carry their own description).
STAGING_RULES = {
    "type": "staging: nilai tidak dapat dibaca sebagai tipe kolomnya / the value could not be read as its "
    "column's type",
    "unique": "staging: kunci yang sama dengan baris sebelumnya; salinan pertama disimpan / the key repeats an earlier "
    "row's; the first copy is kept",
    "text": "staging: teks berisi karakter kontrol / the text holds a control character",
    "number": "staging: angka yang dapat dibaca dua cara / a number that reads two ways (decimal point or thousands)",
    "cell": "staging: sel berisi rumus tanpa nilai / a cell holds a formula with no computed value",
    "personal_data": "staging: angka 16 digit (NIK?) di kolom angka / a 16-digit number (a NIK?) where a number "
    "belongs",
}


def staging_rule_description(rule: str) -> str:
    """`type:sla_days` → what `type` rules mean; a rule staging may add later is named as staging's."""
    return STAGING_RULES.get(rule.split(":", 1)[0], f"staging: {rule}")


def validation_record(
    gate: Any,  # a kotacerdas.quality.gate.GateResult (not imported: the gate imports this module)
    *,
    run_name: str,
    validated_at: pd.Timestamp,
    descriptions: Mapping[str, str],
    city_name: str | None = None,
    values_shown: int = 20,
) -> dict:
    """What a page shows of one validation, as JSON-ready data with every text scrubbed of personal data."""
    quarantine = gate.quarantine
    failing = failing_rows(quarantine)
    # the entries in plain Python (a few rows, if any: pandas costs more than they do)
    entries = list(
        zip(*(quarantine[c].tolist() for c in ("rule", "severity", "_raw_file", "_raw_row", "value")), strict=True)
    )
    rules = [
        {
            "rule": r["rule"],
            "severity": r["severity"],
            "success": bool(r["success"]),
            "description": descriptions.get(r["rule"]),
            "failing_rows": int(failing.get(r["rule"], 0)),
            "element_count": _plain(r["element_count"]),
            "unexpected_percent": _plain(r["unexpected_percent"]),
            "observed": _plain(r["observed_value"]),
            "expected": _plain(r["details"]),
        }
        for r in gate.rule_records
    ]
    known = {r["rule"] for r in rules}
    staging: dict[str, str] = {}  # rules of staging (not of the suite) in the order they first fail: rule -> severity
    for rule, severity, *_ in entries:
        if rule not in known:
            staging.setdefault(rule, severity)
    rules += [
        {
            "rule": rule,
            "severity": severity,
            "success": False,
            "description": staging_rule_description(rule),
            "failing_rows": int(failing.get(rule, 0)),
            "element_count": None,
            "unexpected_percent": None,
            "observed": None,
            "expected": None,
        }
        for rule, severity in staging.items()
    ]
    # The failing values as the quarantine holds them (personal data already pseudonymised), a few per rule.
    shown = ("rule", "severity", "_raw_file", "_raw_row", "value")
    samples = [dict(zip(shown, entries[i], strict=True)) for i in first_per_rule(quarantine, values_shown)]
    record = {
        "table": gate.table,
        "city": gate.city_code,
        "city_name": city_name,
        "month": gate.period,
        "run": run_name,
        "validated_at": _wall_clock(validated_at),
        "passed": bool(gate.passed),
        # passed, but past the early warning: what the table's error check reports as a WARN
        "warns": bool(gate.warns),
        "verdict": gate.verdict(),
        "input_rows": int(gate.input_rows),
        "valid_rows": len(gate.valid),
        "rejected_rows": int(gate.rejected_rows),
        "rejected_share": float(gate.rejected_share),
        "threshold": float(gate.threshold),
        "failed_table_rules": list(gate.failed_table_rules),
        "rules": rules,
        "samples": [{k: _plain(v) for k, v in s.items()} for s in samples],
        "page": page_path(run_name, gate.table, gate.city_code, gate.period),
    }
    return _scrub_each_text_once(record)


def _scrub_each_text_once(record: dict) -> dict:
    """`scrub_value(record)`, with each distinct text scrubbed once: a page repeats its rule ids, severities and
    raw file names in every sample, and scrubbing a text costs a look-up of the settings' secrets."""
    texts: set[str] = set()

    def collect(value: object) -> None:
        if isinstance(value, str):
            texts.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list | tuple):
            for v in value:
                collect(v)

    collect(record)
    ordered = list(texts)
    clean = dict(zip(ordered, cast(list, scrub_value(ordered)), strict=True))

    def put(value: object) -> object:
        if isinstance(value, str):
            return clean[value]
        if type(value) is dict:
            return {k: put(v) for k, v in value.items()}
        if type(value) is list:
            return [put(v) for v in value]
        if type(value) is tuple:
            return tuple(put(v) for v in value)
        return value

    return cast(dict, put(record))


def _number(value: SupportsFloat | None, places: int = 2) -> str:
    """Indonesian style: decimal comma; missing is an em dash."""
    if value is None:
        return "—"
    return format_half_up(float(value), places).replace(".", ",")


def _percent(share: SupportsFloat | None) -> str:
    return "—" if share is None else _number(float(share) * 100, 2) + " %"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters |= {"number": _number, "percent": _percent}
    env.globals["style"] = (TEMPLATES / "quality.css").read_text(encoding="utf-8")
    return env


def render_page(record: Mapping) -> str:
    """One validation's page: self-contained HTML (inline style, no script, nothing fetched)."""
    return _environment().get_template("validation.html.j2").render(r=record, index=f"../../{INDEX_PAGE}")


def render_index(entries: Sequence[Mapping]) -> str:
    """The index: every validation written under the root, newest first."""
    rows = sorted(entries, key=lambda e: (e["validated_at"], e["table"], e["city"], e["month"]), reverse=True)
    return _environment().get_template("index.html.j2").render(entries=rows)


def _write_atomically(path: Path, text: str) -> None:
    """Readers (a browser, the UI's link) never see half a page: write beside it, then rename over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


@contextmanager
def _locked(root: Path):
    """One writer of the index at a time: table steps of a run write pages from parallel processes."""
    with open(root / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _index_entry(record: Mapping) -> dict:
    keys = ("table", "city", "city_name", "month", "run", "validated_at", "passed", "input_rows", "rejected_rows")
    failed = [r["rule"] for r in record["rules"] if not r["success"]]
    return (
        {k: record[k] for k in keys}
        | {"warns": bool(record.get("warns")), "rejected_share": record["rejected_share"], "failed_rules": failed}
        | {"page": record["page"]}
    )


def read_entries(root: str | Path) -> list[dict]:
    """The validations the index lists (the latest entry per page)."""
    path = Path(root) / _ENTRIES
    if not path.is_file():
        return []
    by_page = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            by_page[entry["page"]] = entry
    return list(by_page.values())


def write_data_docs(record: Mapping, root: str | Path) -> Path:
    """Write a validation's JSON result and page under `root`, and list it in `root/index.html`; returns the page."""
    return write_data_docs_pages([record], root)[0]


def write_data_docs_pages(records: Sequence[Mapping], root: str | Path) -> list[Path]:
    """`write_data_docs` for the validations of a run (one per partition): the pages, then the index once (it lists
    every validation under the root, so rendering it per page grew with the square of the pages)."""
    root = Path(root)
    pages = []
    for record in records:
        page = root / record["page"]
        page.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(page.with_suffix(".json"), json.dumps(record, ensure_ascii=False, indent=1))
        _write_atomically(page, render_page(record))
        pages.append(page)
    if not records:
        return pages
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        with open(root / _ENTRIES, "a", encoding="utf-8") as entries:
            entries.write("".join(json.dumps(_index_entry(r), ensure_ascii=False) + "\n" for r in records))
        _write_atomically(root / INDEX_PAGE, render_index(read_entries(root)))
    return pages


def rebuild_data_docs(root: str | Path) -> Path:
    """Render every page and the index again from the stored JSON results (e.g. after a template change)."""
    root = Path(root)
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("*/*/*.json"))]
    with _locked(root):
        for record in records:
            _write_atomically(root / record["page"], render_page(record))
        lines = "".join(json.dumps(_index_entry(r), ensure_ascii=False) + "\n" for r in records)
        _write_atomically(root / _ENTRIES, lines)
        _write_atomically(root / INDEX_PAGE, render_index(read_entries(root)))
    return root / INDEX_PAGE


def data_docs_root(project: ProjectConfig, default: Path | None = None) -> Path:
    """KOTACERDAS_DATA_DOCS_DIR, else `data_docs.dir` of quality.yaml, else `default` (the orchestrator's
    storage), else data/data_docs under the project root."""
    chosen = settings().data_docs_dir or project.quality.data_docs.dir
    if chosen:
        return project.resolve_path(chosen)
    return default if default is not None else project.dir.parent / "data" / "data_docs"
