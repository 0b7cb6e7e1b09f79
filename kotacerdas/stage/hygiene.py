"""Text hygiene, owned by staging: control characters and ambiguous decimals are rejected with a named rule.

A NUL byte is legal in a CSV cell or a JSON string but not in PostgreSQL text (COPY fails the whole partition), and
the other control characters are never data. A decimal-comma source's `30.750` may be 30750 (thousands dot) or
30.75 (a decimal point typed by hand): both readings are possible, so the cell is rejected, not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

RULE_CONTROL = "text:control_characters"
RULE_AMBIGUOUS_DECIMAL = "number:ambiguous_decimal"

# C0 controls but tab, line feed and carriage return (kept in quoted text), DEL, and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# One group of exactly three digits after the mark that is not the declared decimal mark, and nothing else.
_ONE_GROUP = {",": re.compile(r"^[-+]?(\d+)\.\d{3}$"), ".": re.compile(r"^[-+]?(\d+),\d{3}$")}


@dataclass(frozen=True)
class RejectedCell:
    """A cell a reader found unreadable in a way only it can tell (it knows the file's conventions); staging
    quarantines its row under `rule`. Not a str, so nothing parses it by accident."""

    text: str
    rule: str
    reason: str

    def __str__(self) -> str:
        return self.text


def control_characters(text: str) -> list[str]:
    """The control characters of `text`, written as escapes ('\\x00'), in order of first appearance."""
    return list(dict.fromkeys(f"\\x{ord(c):02x}" for c in _CONTROL.findall(text)))


def any_control_characters(texts: Iterable[str]) -> bool:
    """Whether any of `texts` holds a control character: one scan of them all, for whole columns."""
    return _CONTROL.search("\n".join(texts)) is not None  # a line feed is no control character of the rule


def visible(text: str) -> str:
    """`text` with every control character written as an escape, safe to store and to print."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def control_reason(text: str) -> str:
    found = ", ".join(control_characters(text))
    return f"control character(s) {found} in the text (never data; PostgreSQL cannot store a NUL)"


def ambiguous_decimal(value: object, decimal: str, thousands: str | None) -> RejectedCell | None:
    """A RejectedCell when `value` reads as two different numbers under the source's conventions, else None.

    Only decimal-comma sources have the doubt: `30.750` is 30750 with a thousands dot or 30.75 with a decimal point
    typed by hand. A source that declares `thousands: "."` settles it for well-formed groups; `0.125` stays
    ambiguous (a thousands group never follows a leading 0, so the dot there can only be a decimal point, which
    the source says it does not use).
    """
    if decimal != "," or not isinstance(value, str):
        return None
    text = value.strip()
    m = _ONE_GROUP[decimal].match(text)
    if m is None:
        return None
    lead = m.group(1)
    if thousands == "." and len(lead) <= 3 and not lead.startswith("0"):
        return None
    grouped = int(text.replace(".", ""))
    return RejectedCell(
        text=value,
        rule=RULE_AMBIGUOUS_DECIMAL,
        reason=(
            f"{text!r} is ambiguous in a decimal-comma source: {grouped} with a thousands dot or {text} with a "
            "decimal point; ask the OPD to write it as 1.234,5 / 0,125 (or declare `thousands` of the source)"
        ),
    )
