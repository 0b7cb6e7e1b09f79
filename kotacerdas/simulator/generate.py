"""Deterministic synthetic OPD data: one month of rows for a city × OPD × monthly canonical table.

Rows are built with canonical column names; the server renames them to each source's own field names.
The same seed always yields the same rows (every random draw comes from a generator seeded by a hash of
the seed and the partition), and a small share (~1 %) of rows is deliberately defective so that staging
and the quality gate have something to catch.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any

from kotacerdas.config import City, Opd

TS_FORMAT = "%Y-%m-%dT%H:%M:%S"
_STAMP_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")  # TS_FORMAT's
DEFECT_RATE = 0.012

# Typical monthly volumes for a city of ~240k residents; unknown OPDs get the default.
REQUEST_BASE = {
    "DISDUKCAPIL": 260,
    "DPMPTSP": 110,
    "DINKES": 90,
    "DISHUB": 70,
    "DLH": 45,
    "BPKPAD": 120,
    "DISDIK": 55,
    "DINSOS": 65,
}
COMPLAINT_BASE = {
    "DISDUKCAPIL": 30,
    "DPMPTSP": 15,
    "DINKES": 20,
    "DISHUB": 18,
    "DLH": 25,
    "DISKOMINFO": 12,
    "BPKPAD": 10,
    "DINSOS": 14,
}
SURVEY_BASE = {"DISDUKCAPIL": 150, "DPMPTSP": 80, "DINKES": 90}
# Demand through the year: January rush, Lebaran dip (Mar-Apr), school-year peak in July.
SEASON = (1.10, 1.00, 0.95, 0.85, 1.00, 1.05, 1.15, 1.05, 1.00, 1.00, 0.95, 0.90)
# Weekday weights Monday..Sunday: offices are closed at weekends (Saturday half-day in some), portals are not.
OFFLINE_WEEKDAY = (1.0, 1.0, 1.0, 1.0, 0.9, 0.25, 0.03)
ONLINE_WEEKDAY = (1.0, 1.0, 1.0, 1.0, 0.9, 0.55, 0.35)

COMPLAINT_CATEGORIES = (
    "pelayanan_administrasi",
    "infrastruktur",
    "kebersihan",
    "perilaku_petugas",
    "informasi",
    "pungutan_liar",
)
FIRST_NAMES = (
    "budi",
    "siti",
    "agus",
    "dewi",
    "rizky",
    "putri",
    "andi",
    "nur",
    "fajar",
    "indah",
    "hendra",
    "ayu",
    "yusuf",
    "rina",
    "dimas",
    "lestari",
    "bayu",
    "wulan",
    "eko",
    "sari",
)
LAST_NAMES = (
    "santoso",
    "rahmawati",
    "saputra",
    "lestari",
    "pratama",
    "wijaya",
    "hidayat",
    "kurniawan",
    "siregar",
    "nasution",
    "gunawan",
    "setiawan",
    "halim",
    "putra",
    "susanti",
)
MAIL_DOMAINS = ("gmail.com", "yahoo.co.id", "gmail.com", "outlook.com", "gmail.com")
PHONE_PREFIXES = ("811", "812", "813", "821", "822", "852", "853", "857", "858", "877", "878", "895", "896")


def stable_rng(*parts: object) -> random.Random:
    """A generator seeded by a hash of `parts`: independent of PYTHONHASHSEED, process and platform."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def month_bounds(month: str) -> tuple[date, int]:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, 1), calendar.monthrange(year, mon)[1]


def months_since_2024(month: str) -> int:
    return (int(month[:4]) - 2024) * 12 + int(month[5:7]) - 1


def _volume(base: int, city: City, month: str, rng: random.Random) -> int:
    scale = city.population / 240_000
    season = SEASON[int(month[5:7]) - 1]
    return max(3, round(base * scale * season * rng.uniform(0.85, 1.15)))


def _pick_day(rng: random.Random, month: str, weekday_weights: tuple[float, ...]) -> date:
    days, cumulative = _days_of(month, weekday_weights)
    # the cumulative weights `choices` would add up itself: the same draw, without a month's list per row
    return rng.choices(days, cum_weights=cumulative)[0]


@lru_cache(maxsize=64)
def _days_of(month: str, weekday_weights: tuple[float, ...]) -> tuple[list[date], list[float]]:
    first, ndays = month_bounds(month)
    days = [first + timedelta(days=i) for i in range(ndays)]
    return days, list(accumulate(weekday_weights[d.weekday()] for d in days))


def _office_time(rng: random.Random, day: date) -> datetime:
    minutes = rng.randint(7 * 60 + 30, 15 * 60 + 30)
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, rng.randint(0, 59))


def _any_time(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 6, 9, 10, 10, 9, 8, 9, 9, 8, 7, 6, 6, 6, 5, 4, 3, 2])[0]
    return datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59))


def _fmt(ts: datetime | None) -> str | None:
    return ts.strftime(TS_FORMAT) if ts is not None else None


def _nik(rng: random.Random, city: City) -> str:
    regency = city.code.split(".")[1] if "." in city.code else "71"
    birth = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55))
    day = birth.day + (40 if rng.random() < 0.5 else 0)  # women: day of birth + 40
    return (
        f"{city.province_code}{regency}{rng.randint(1, 7):02d}{day:02d}{birth.month:02d}"
        f"{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
    )


def _phone(rng: random.Random) -> str:
    digits = rng.choice((7, 8))
    return f"0{rng.choice(PHONE_PREFIXES)}{rng.randint(0, 10**digits - 1):0{digits}d}"


def _email(rng: random.Random) -> str:
    sep = rng.choice((".", "_", ""))
    name = f"{rng.choice(FIRST_NAMES)}{sep}{rng.choice(LAST_NAMES)}{rng.randint(1, 99)}"
    return f"{name}@{rng.choice(MAIL_DOMAINS)}"


def _outside_month(rng: random.Random, month: str) -> str:
    first, _ = month_bounds(month)
    back = timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 600))
    ts = datetime(first.year, first.month, 1, 9, 0) - back
    return ts.strftime(TS_FORMAT)


def _unparseable_date(rng: random.Random, month: str) -> str:
    year, mon = month[:4], month[5:7]
    return rng.choice((f"{year}-{mon}-32T10:15:00", f"31/{mon}/{year} jam 10", "kemarin sore", f"{mon}/{year}"))


# --- service requests -------------------------------------------------------------------------------


def service_requests(seed: int, city: City, opd: Opd, month: str) -> list[dict]:
    rng = stable_rng(seed, "service_requests", city.code, opd.code, month)
    if not opd.services:
        return []
    n = _volume(REQUEST_BASE.get(opd.code, 60), city, month, rng)
    # An OPD's speed differs per city and is steady across months (so indicators have a level to find).
    speed = stable_rng(seed, "speed", city.code, opd.code).uniform(0.4, 0.75)
    trend = months_since_2024(month)
    online_share = {
        s.code: (
            min(0.95, stable_rng(seed, "online", city.code, s.code).uniform(0.3, 0.8) + 0.01 * trend)
            if s.online
            else 0.0
        )
        for s in opd.services
    }
    drafts: list[dict[str, Any]] = []
    for _ in range(n):
        service = rng.choice(opd.services)
        online = rng.random() < online_share[service.code]
        day = _pick_day(rng, month, ONLINE_WEEKDAY if online else OFFLINE_WEEKDAY)
        submitted = _any_time(rng, day) if online else _office_time(rng, day)
        u = rng.random()
        status = "completed" if u < 0.86 else "in_process" if u < 0.93 else "rejected" if u < 0.98 else "submitted"
        completed = None
        if status == "completed":
            # Lognormal with a long right tail: most well within the standard, some far beyond it.
            median = max(service.sla_days, 0.3) * speed
            days = rng.lognormvariate(math.log(median), 0.65)
            completed = submitted + timedelta(days=days)
        drafts.append(
            {
                "service_code": service.code,
                "channel": "online" if online else "offline",
                "status": status,
                "submitted_at": submitted,
                "completed_at": completed,
                "sla_days": service.sla_days,
                "applicant_nik": _nik(rng, city),
                "applicant_phone": _phone(rng) if rng.random() < 0.93 else None,
            }
        )
    drafts.sort(key=lambda r: r["submitted_at"])
    rows: list[dict[str, Any]] = []
    stamp = month.replace("-", "")
    for i, d in enumerate(drafts, start=1):
        row = {
            "request_id": f"{opd.code}-{stamp}-{i:05d}",
            "city_code": city.code,
            "opd_code": opd.code,
            **d,
            "submitted_at": _fmt(d["submitted_at"]),
            "completed_at": _fmt(d["completed_at"]),
        }
        if rng.random() < DEFECT_RATE:
            kind = rng.choice(
                ("completed_before_submitted", "unknown_channel", "outside_month", "unparseable_date", "duplicate")
            )
            if kind == "completed_before_submitted":
                row["status"] = "completed"
                row["completed_at"] = _fmt(d["submitted_at"] - timedelta(hours=rng.randint(2, 72)))
            elif kind == "unknown_channel":
                row["channel"] = rng.choice(("walk-in", "loket", "WA"))
            elif kind == "outside_month":
                row["submitted_at"] = _outside_month(rng, month)
            elif kind == "unparseable_date":
                row["submitted_at"] = _unparseable_date(rng, month)
            elif kind == "duplicate" and rows:
                rows.append(dict(rows[-1]))  # the source system exported the previous record twice
        rows.append(row)
    return rows


# --- complaints ---------------------------------------------------------------------------------------


def complaints(seed: int, city: City, opd: Opd, month: str) -> list[dict]:
    rng = stable_rng(seed, "complaints", city.code, opd.code, month)
    n = _volume(COMPLAINT_BASE.get(opd.code, 12), city, month, rng)
    responsiveness = stable_rng(seed, "responsiveness", city.code, opd.code).uniform(0.5, 1.6)
    drafts: list[dict[str, Any]] = []
    for _ in range(n):
        received = _any_time(rng, _pick_day(rng, month, ONLINE_WEEKDAY))
        first = resolved = None
        if rng.random() < 0.94:
            first = received + timedelta(days=rng.lognormvariate(math.log(0.8 * responsiveness), 1.0))
            if rng.random() < 0.82:
                resolved = first + timedelta(days=rng.lognormvariate(math.log(5 * responsiveness), 0.9))
        status = (
            "received"
            if first is None
            else "in_process"
            if resolved is None
            else "closed"
            if rng.random() < 0.3
            else "resolved"
        )
        drafts.append(
            {
                "category": rng.choice(COMPLAINT_CATEGORIES),
                "status": status,
                "received_at": received,
                "first_response_at": first,
                "resolved_at": resolved,
                "reporter_email": _email(rng) if rng.random() < 0.85 else None,  # anonymous reports have none
            }
        )
    drafts.sort(key=lambda r: r["received_at"])
    rows: list[dict[str, Any]] = []
    for i, d in enumerate(drafts, start=1):
        row = {
            "complaint_id": f"LPR-{city.code.replace('.', '')}-{opd.code}-{month.replace('-', '')}-{i:04d}",
            "city_code": city.code,
            "opd_code": opd.code,
            **d,
            "received_at": _fmt(d["received_at"]),
            "first_response_at": _fmt(d["first_response_at"]),
            "resolved_at": _fmt(d["resolved_at"]),
        }
        if rng.random() < DEFECT_RATE:
            kind = rng.choice(("resolved_before_received", "outside_month", "unparseable_date", "duplicate"))
            if kind == "resolved_before_received":
                row["status"] = "resolved"
                row["resolved_at"] = _fmt(d["received_at"] - timedelta(days=rng.randint(1, 10)))
            elif kind == "outside_month":
                row["received_at"] = _outside_month(rng, month)
            elif kind == "unparseable_date":
                row["received_at"] = _unparseable_date(rng, month)
            elif kind == "duplicate" and rows:
                rows.append(dict(rows[-1]))
        rows.append(row)
    return rows


# --- IKM survey ---------------------------------------------------------------------------------------

# Element offsets: U3 (service time) scores lower, U5 (cost: most services are free) higher.
IKM_OFFSET = {
    "u1": 0.0,
    "u2": 0.02,
    "u3": -0.12,
    "u4": 0.15,
    "u5": 0.25,
    "u6": 0.0,
    "u7": 0.05,
    "u8": -0.05,
    "u9": 0.03,
}


def satisfaction_responses(seed: int, city: City, opd: Opd, month: str) -> list[dict]:
    rng = stable_rng(seed, "satisfaction_responses", city.code, opd.code, month)
    n = _volume(SURVEY_BASE.get(opd.code, 50), city, month, rng)
    quality = stable_rng(seed, "ikm", city.code, opd.code).uniform(0.3, 0.6)  # share of "4" answers
    services = [s.code for s in opd.services] or ["UMUM"]
    drafts: list[dict[str, Any]] = []
    for _ in range(n):
        surveyed = _office_time(rng, _pick_day(rng, month, OFFLINE_WEEKDAY))
        answers = {}
        for u, offset in IKM_OFFSET.items():
            p4 = min(0.9, max(0.05, quality + offset))
            answers[u] = rng.choices((1, 2, 3, 4), weights=(0.02, 0.06, 0.92 - p4, p4))[0]
        drafts.append({"service_code": rng.choice(services), "surveyed_at": surveyed, **answers})
    drafts.sort(key=lambda r: r["surveyed_at"])
    rows: list[dict[str, Any]] = []
    for i, d in enumerate(drafts, start=1):
        row = {
            "response_id": f"IKM-{city.code.replace('.', '')}-{opd.code}-{month.replace('-', '')}-{i:05d}",
            "city_code": city.code,
            "opd_code": opd.code,
            **d,
            "surveyed_at": _fmt(d["surveyed_at"]),
        }
        if rng.random() < DEFECT_RATE:
            kind = rng.choice(("answer_out_of_scale", "outside_month", "unparseable_date"))
            if kind == "answer_out_of_scale":
                row[rng.choice(list(IKM_OFFSET))] = rng.choice((0, 5))
            elif kind == "outside_month":
                row["surveyed_at"] = _outside_month(rng, month)
            else:
                row["surveyed_at"] = _unparseable_date(rng, month)
        rows.append(row)
    return rows


# --- service catalogue --------------------------------------------------------------------------------


def service_catalogue(seed: int, city: City, opd: Opd, month: str) -> list[dict]:
    """The OPD's catalogue as read in `month`: its services in cities.yaml, with the same service standard
    (sla_days) and online flag that its service requests carry. No defects: a catalogue has a dozen rows per
    city, so one bad row would block the partition; tests inject defects with `edit_rows`."""
    return [
        {
            "city_code": city.code,
            "opd_code": opd.code,
            "service_code": s.code,
            "service_name": s.name,
            "sla_days": s.sla_days,
            "online": s.online,
            "as_of": month,
        }
        for s in opd.services
    ]


# --- the clock -------------------------------------------------------------------------------------------

# Per table: the field that opens a record, then its later events in order, each with the status the record has
# until that event happens. A month that just closed still has requests in process; a real OPD system never
# reports a completion later than its own clock.
EVENTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "service_requests": ("submitted_at", (("completed_at", "in_process"),)),
    "complaints": ("received_at", (("first_response_at", "received"), ("resolved_at", "in_process"))),
    "satisfaction_responses": ("surveyed_at", ()),
}


def as_of(table: str, rows: list[dict], now: datetime) -> list[dict]:
    """The rows an OPD system shows at local wall-clock time `now`: a record opened later does not exist yet,
    and an event later than `now` has not happened (it and every event after it are blank, and the record keeps
    the status it had before). Unparseable stamps (the deliberate defects) are left as they are."""
    if table not in EVENTS:
        return rows
    opened, events = EVENTS[table]
    out = []
    for row in rows:
        if _after(row.get(opened), now):
            continue
        late = next((i for i, (name, _) in enumerate(events) if _after(row.get(name), now)), None)
        if late is not None:
            row = dict(row, status=events[late][1]) | {name: None for name, _ in events[late:]}
        out.append(row)
    return out


def _after(stamp: object, now: datetime) -> bool:
    moment = parse_stamp(stamp)
    return moment is not None and moment > now


def parse_stamp(stamp: object) -> datetime | None:
    """A row's timestamp, or None when it is blank or one of the deliberate unparseable defects.

    Only TS_FORMAT's zero-padded ASCII form, the one the generators write (strptime also took `2025-1-5T9:5:3`),
    read by fromisoformat: strptime costs ~10 µs a stamp, a fifth of the simulator's time for a month."""
    if not isinstance(stamp, str) or not _STAMP_FORM.fullmatch(stamp):
        return None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:  # a day, hour, ... out of range (2025-01-32T10:15:00)
        return None


GENERATORS = {
    "service_requests": service_requests,
    "complaints": complaints,
    "satisfaction_responses": satisfaction_responses,
    "service_catalogue": service_catalogue,
}
