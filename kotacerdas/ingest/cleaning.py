"""Repairs for values as OPD staff export them: decimal commas, Excel date serials, float-mangled region codes.

Each function only rewrites a value that is unambiguous under the declared convention and returns anything
else unchanged, so that staging still sees (and rejects, with the original text) what cannot be read.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from kotacerdas.stage.hygiene import RejectedCell, ambiguous_decimal

_FLOAT_ARTIFACT = re.compile(r"^(\d+)\.0+$")  # 3201.0, 3201190006.0, 2019.0
_KABKOTA_DIGITS = re.compile(r"^(\d{2})(\d{2})$")  # BPS-style 3201 -> Kemendagri 32.01
_KABKOTA_SHORT = re.compile(r"^(\d{2})\.(\d)$")  # 11.1 written for 11.10 (a float lost the trailing zero)
_SERIAL = re.compile(r"^\d{1,6}(\.\d+)?$")
EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year bug included)
# Serials accepted as dates: 1930-01-01 .. 2099-12-31. Outside that a number in a date column is not a date.
SERIAL_RANGE = (10959, 73050)

_MONTHS_ID = {
    "jan": 1,
    "januari": 1,
    "feb": 2,
    "februari": 2,
    "mar": 3,
    "maret": 3,
    "apr": 4,
    "april": 4,
    "mei": 5,
    "may": 5,
    "jun": 6,
    "juni": 6,
    "jul": 7,
    "juli": 7,
    "agu": 8,
    "agt": 8,
    "agustus": 8,
    "aug": 8,
    "sep": 9,
    "september": 9,
    "okt": 10,
    "oktober": 10,
    "oct": 10,
    "nov": 11,
    "november": 11,
    "des": 12,
    "desember": 12,
    "dec": 12,
}
_PERIOD_FORMS = (
    (re.compile(r"^(\d{4})-(\d{1,2})$"), ("y", "m")),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?: [\d:.]+)?$"), ("d", "m", "y")),
    (re.compile(r"^(\d{1,2})/(\d{4})$"), ("m", "y")),
    (re.compile(r"^(\d{4})/(\d{1,2})$"), ("y", "m")),
)
_MONTH_NAMES = (  # for messages, whatever the locale
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_PERIOD_NAMED = re.compile(r"^([A-Za-z]+)[\s-](\d{2}|\d{4})$")  # Maret 2025, Mar-25


def _decimal_pattern(decimal: str) -> re.Pattern[str]:
    thousands = "." if decimal == "," else ","
    t, d = re.escape(thousands), re.escape(decimal)
    return re.compile(rf"^\s*[-+]?(\d{{1,3}}({t}\d{{3}})+|\d+)({d}\d+)?\s*$")


_DECIMAL_PATTERNS = {d: _decimal_pattern(d) for d in (".", ",")}


def normalise_decimal(value: object, decimal: str, thousands: str | None = None) -> object | RejectedCell:
    """'1.234,56' -> '1234.56' (decimal comma) or '1,234.5' -> '1234.5' (decimal point); else unchanged.

    Only cells that are unambiguous numbers under the declared convention are touched: with a decimal point,
    '1,234' is one thousand two hundred and thirty-four. With a decimal comma, '1.234' is that only when the source
    declares `thousands: "."`; otherwise it could be 1.234 too and comes back as a RejectedCell (staging
    quarantines it), as does '0.125' always.
    """
    rejected = ambiguous_decimal(value, decimal, thousands)
    if rejected is not None:
        return rejected
    if not isinstance(value, str) or not _DECIMAL_PATTERNS[decimal].match(value):
        return value
    thousands = "." if decimal == "," else ","
    return value.strip().replace(thousands, "").replace(decimal, ".")


def excel_serial_to_iso(value: object) -> object:
    """'45717' or '45717.5' in a date column -> '2025-03-01T00:00:00' / '2025-03-01T12:00:00'; else unchanged."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    text = str(value).strip()
    if not _SERIAL.match(text):
        return value
    serial = float(text)
    if not SERIAL_RANGE[0] <= serial <= SERIAL_RANGE[1]:
        return value
    moment = EXCEL_EPOCH + timedelta(days=serial)
    moment = moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def normalise_period(value: object, column: str = "period") -> object | RejectedCell:
    """A month however Excel wrote it -> 'YYYY-MM'; a year written as a float (2019.0) -> '2019'.

    Handles 2025-03, 2025-03-01, 01/03/2025 (day first, as in Indonesia), 03/2025, Maret 2025, Mar-25 and an
    Excel serial (Excel turns a typed '2025-03' into 1 March 2025). A date that does not exist (31/02/2025,
    00/03/2025, 2025-02-31) is no month: it comes back as a RejectedCell with the text as written, and staging
    quarantines its row under `type:<column>`. Anything else is returned unchanged.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    text = str(value).strip()
    if (m := _FLOAT_ARTIFACT.match(text)) and len(m.group(1)) == 4:
        return m.group(1)
    serial = excel_serial_to_iso(text)
    if serial is not text and serial != text:
        text = str(serial)
    for pattern, parts in _PERIOD_FORMS:
        if m := pattern.match(text):
            got = dict(zip(parts, (int(g) for g in m.groups()), strict=True))
            if "d" in got and (problem := _impossible_date(got["y"], got["m"], got["d"])):
                return RejectedCell(
                    text=str(value),
                    rule=f"type:{column}",
                    reason=f"{str(value).strip()} is not a date: {problem}; ask the OPD to write the month as "
                    "YYYY-MM (or a date that exists in it)",
                )
            if 1 <= got["m"] <= 12 and 1900 <= got["y"] <= 2100:
                return f"{got['y']:04d}-{got['m']:02d}"
            return value
    if m := _PERIOD_NAMED.match(text):
        month = _MONTHS_ID.get(m.group(1).lower())
        year = int(m.group(2)) + (2000 if len(m.group(2)) == 2 else 0)
        if month:
            return f"{year:04d}-{month:02d}"
    return value


def _impossible_date(year: int, month: int, day: int) -> str | None:
    """Why year-month-day is no date ('there is no day 31 in February 2025'), or None when it is one."""
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    if not 1 <= year <= 9999:  # no date Python holds; outside 1900-2100 it is no period either way
        return None
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return f"there is no day {day} in {_MONTH_NAMES[month - 1]} {year}"
    return None


def repair_region_code(value: object, style: str = "kemendagri") -> object:
    """Undo what spreadsheets do to region codes, where only one reading is possible.

    - a float artifact is dropped: '3201.0' -> '3201', '3201190006.0' -> '3201190006' (any level);
    - with style `kemendagri` (dotted, as `city_code` is), a BPS-style kab/kota code gets its dot
      ('3201' -> '32.01') and a dotted code that lost its trailing zero to a float gets it back
      ('11.1' -> '11.10': the float of 11.01 prints as 11.01, so only 11.10 can print as 11.1).
    Anything else (a village code in a kab/kota column, '3.2e3', '32.015') is returned unchanged.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):  # a workbook cell: 3201.0, or 11.1 for the code 11.10
        text = repr(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        return value
    if m := _FLOAT_ARTIFACT.match(text):
        text = m.group(1)
    if style == "kemendagri":
        if m := _KABKOTA_DIGITS.match(text):
            return f"{m.group(1)}.{m.group(2)}"
        if m := _KABKOTA_SHORT.match(text):
            return f"{m.group(1)}.{m.group(2)}0"
    return text
