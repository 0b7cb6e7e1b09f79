"""Raw landing zone: every fetched payload kept encrypted at rest, checksummed, and never overwritten.

Each payload is sealed with AES-256-GCM (`kotacerdas.encryption`, key KOTACERDAS_STORAGE_KEY); its sha256 is
that of the bytes as delivered, so it still identifies them, and replay decrypts and checks it. The sidecar and
manifest lines hold no payload, and their `origin` passes the personal-data scrubber; so does the payload's
name (`scrub_file_name`), which is part of every path stored.

Layout: `{raw_dir}/{source}/{city}/{period}/{opd}/{fetch_id}/{name}` plus `{name}.meta.json` beside it, and one
line per payload appended to `{raw_dir}/{source}/{city}/{period}/manifest.jsonl`; the period is the partition's
month (YYYY-MM), or its year (YYYY) for a yearly table. A fetch id is the UTC time
plus a random suffix, so re-fetching a partition adds a new folder next to the earlier ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from kotacerdas.encryption import is_sealed, sealed_with_current, storage_keys, unseal, write_sealed
from kotacerdas.periods import now_local
from kotacerdas.privacy import scrub_file_name, scrub_text
from kotacerdas.storage_errors import storage_failure

MANIFEST = "manifest.jsonl"
META_SUFFIX = ".meta.json"


@dataclass(frozen=True)
class RawFile:
    """One stored payload; `relpath` is relative to raw_dir (what staged rows carry as `_raw_file`)."""

    relpath: str
    sha256: str
    source: str
    origin: str  # URL (without secrets) or the path the file was taken from
    fetched_at: str  # ISO UTC
    rows: int
    bytes: int


def new_fetch_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"


def safe_segment(part: str) -> str:
    """A path segment that cannot climb out of raw_dir."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in part)
    return cleaned.strip(".") or "_"


def store_raw(
    raw_dir: str | Path,
    *,
    source: str,
    city: str,
    period: str,
    opd: str,
    fetch_id: str,
    name: str,
    content: bytes,
    origin: str,
    rows: int,
) -> RawFile:
    """Write `content` sealed (exclusive create: an existing file is never replaced) with its sidecar."""
    raw_dir = Path(raw_dir)
    partition = Path(safe_segment(source)) / safe_segment(city) / safe_segment(period)
    # the delivered name may hold personal data (`laporan_<NIK>.csv`): it is stored, and carried as `_raw_file`
    # into the warehouse, with a pseudonym in its place
    rel = partition / safe_segment(opd) / safe_segment(fetch_id) / safe_segment(scrub_file_name(name))
    target = raw_dir / rel
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # exclusive: fail rather than overwrite an earlier fetch; the relpath is authenticated with the payload
        write_sealed(target, content, rel.as_posix(), exclusive=True)
    except OSError as exc:
        failure = storage_failure(exc, f"the raw zone at {raw_dir}", target)
        if failure is not None:
            raise failure from exc
        raise
    record = RawFile(
        relpath=rel.as_posix(),
        sha256=hashlib.sha256(content).hexdigest(),
        source=source,
        origin=scrub_text(origin),
        fetched_at=utc_text(datetime.now(UTC)),
        rows=rows,
        bytes=len(content),
    )
    meta = {**asdict(record), "city": city, "period": period, "opd": opd, "fetch_id": fetch_id}
    line = json.dumps(meta, ensure_ascii=False, sort_keys=True)
    with open(target.with_name(target.name + META_SUFFIX), "x", encoding="utf-8") as fh:
        fh.write(line + "\n")
    # One short O_APPEND write per payload, so concurrent fetches of the same partition do not interleave.
    fd = os.open(raw_dir / partition / MANIFEST, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return record


def read_manifest(raw_dir: str | Path, *, source: str, city: str, period: str) -> list[dict]:
    path = Path(raw_dir) / safe_segment(source) / safe_segment(city) / safe_segment(period) / MANIFEST
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def verify(raw_dir: str | Path, record: RawFile) -> bool:
    """True if the stored bytes decrypt and still hash to the recorded sha256."""
    try:
        content = unseal((Path(raw_dir) / record.relpath).read_bytes(), record.relpath)
    except ValueError:
        return False
    return hashlib.sha256(content).hexdigest() == record.sha256


# --- fetch log: which fetches completed, with their watermark (what replay and incremental pulls read) ----

FETCH_LOG = "fetches.jsonl"


def record_fetch(
    raw_dir: str | Path,
    *,
    source: str,
    city: str,
    period: str,
    opd: str,
    fetch_id: str,
    mode: str,
    files: list[str],
    rows: int,
    watermark: str | None = None,
    updated_since: str | None = None,
    uploads: list[dict] | None = None,
    entered: dict[str, str] | None = None,
    opds: list[str] | None = None,
) -> dict:
    """Append one line saying that a fetch completed: a fetch without this line is never replayed.

    `mode` is `full` (the whole partition) or `incremental` (rows changed since `updated_since`); `files`
    are the relpaths of its payloads in order. A file drop's fetch gives `uploads`, one per file:
    `{"file": relpath, "sha256": …, "uploaded_at": ISO UTC}`, when the OPD uploaded those bytes (the landing
    file's modification time when they were first fetched: see `upload_times`); timeliness reads it. Lines written
    before 2026-12-07 have none (timeliness then falls back to the landing file, see there). A pull from a source
    with an `entered_field` gives `entered`: OPD -> the latest time the month's rows were entered (`ingest.entered`).
    A query of all OPDs gives `opds`: those of the table's OPDs it delivered rows for.
    """
    raw_dir = Path(raw_dir)
    entry = {
        "source": source,
        "city": city,
        "period": period,
        "opd": opd,
        "fetch_id": fetch_id,
        "mode": mode,
        "files": files,
        "rows": rows,
        "watermark": watermark,
        "updated_since": updated_since,
        "completed_at": utc_text(now_local()),
    }
    if uploads is not None:
        entry["uploads"] = uploads
    if entered is not None:
        entry["entered"] = entered
    if opds is not None:
        entry["opds"] = opds
    folder = raw_dir / safe_segment(source) / safe_segment(city) / safe_segment(period)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / FETCH_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return entry


def read_fetches(raw_dir: str | Path, *, source: str, city: str, period: str, opd: str | None = None) -> list[dict]:
    """Completed fetches of one source × partition (optionally one OPD), oldest first."""
    path = Path(raw_dir) / safe_segment(source) / safe_segment(city) / safe_segment(period) / FETCH_LOG
    if not path.is_file():
        return []
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e for e in entries if opd is None or e["opd"] == opd]


def utc_text(moment: datetime, timespec: str = "seconds") -> str:
    """An aware time as the fetch log writes it: ISO-8601 in UTC with a `Z`."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def upload_times(fetches: list[dict]) -> dict[str, str]:
    """sha256 -> the earliest upload time recorded for those bytes in these fetches (their `uploads`): the same
    bytes fetched again, even from a file copied back with a new modification time, keep when they were uploaded."""
    out: dict[str, str] = {}
    for entry in fetches:
        for upload in entry.get("uploads") or []:
            sha, when = upload.get("sha256"), upload.get("uploaded_at")
            if sha and when and (sha not in out or parse_utc(when) < parse_utc(out[sha])):
                out[sha] = when
    return out


def parse_utc(text: str) -> datetime:
    """A time of the fetch log (ISO-8601 with `Z` or an offset) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def current_chain(fetches: list[dict]) -> list[dict]:
    """The fetches that make up the partition now: the latest full fetch and every incremental one after it."""
    last_full = max((i for i, e in enumerate(fetches) if e["mode"] == "full"), default=None)
    return [] if last_full is None else fetches[last_full:]


def read_raw(raw_dir: str | Path, relpath: str) -> tuple[bytes, RawFile]:
    """The delivered bytes of one payload (decrypted) and its record; ValueError if they cannot be decrypted or
    no longer match their sha256; ConfigError when no storage key is set."""
    target = Path(raw_dir) / relpath
    meta = json.loads(target.with_name(target.name + META_SUFFIX).read_text(encoding="utf-8"))
    content = unseal(target.read_bytes(), relpath)
    record = RawFile(**{k: meta[k] for k in RawFile.__dataclass_fields__})
    if hashlib.sha256(content).hexdigest() != record.sha256:
        raise ValueError(f"raw payload {relpath} no longer matches its sha256 {record.sha256}")
    return content, record


def payloads(raw_dir: str | Path) -> list[str]:
    """The relpaths of every payload in the raw zone (files with a sidecar)."""
    raw_dir = Path(raw_dir)
    metas = sorted(raw_dir.rglob("*" + META_SUFFIX))
    return [m.with_name(m.name.removesuffix(META_SUFFIX)).relative_to(raw_dir).as_posix() for m in metas]


def reseal_raw(raw_dir: str | Path) -> dict[str, int]:
    """Re-encrypt every payload with the current storage key (after a key rotation, the old key listed in
    KOTACERDAS_STORAGE_OLD_KEYS), and encrypt payloads stored in clear before encryption at rest existed.
    Each file is replaced atomically; its sha256 is checked first. Returns counts by what was done."""
    raw_dir = Path(raw_dir)
    keys = storage_keys()
    counts = {"resealed": 0, "encrypted": 0, "current": 0}
    for relpath in payloads(raw_dir):
        target = raw_dir / relpath
        blob = target.read_bytes()
        if sealed_with_current(blob, keys):
            counts["current"] += 1
            continue
        sealed = is_sealed(blob)
        content = unseal(blob, relpath, keys) if sealed else blob
        meta = json.loads(target.with_name(target.name + META_SUFFIX).read_text(encoding="utf-8"))
        if hashlib.sha256(content).hexdigest() != meta["sha256"]:
            raise ValueError(f"raw payload {relpath} no longer matches its sha256 {meta['sha256']}; left as it is")
        fresh = target.with_name(f".{target.name}.reseal")
        write_sealed(fresh, content, relpath)
        os.replace(fresh, target)
        counts["resealed" if sealed else "encrypted"] += 1
    return counts
