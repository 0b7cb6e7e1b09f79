"""Wide to long for file drops: one column per year (or per indicator) becomes one row per cell, as declared in
a file source's `unpivot` (sources.yaml), before the other headers are mapped and the values cleaned.

Every long row remembers the row of the wide file it came from, so lineage still points at what the OPD sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kotacerdas.config import FileSource, Unpivot
from kotacerdas.errors import SourceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LongTable:
    """A wide file reshaped: the headers left for `columns` and, per long row, their cells, the canonical
    columns the reshape filled and the 1-based row of the wide file."""

    header: list[str]
    body: list[list[object]]
    filled: dict[str, list[object]]
    raw_rows: list[int]


@dataclass(frozen=True)
class _Melted:
    index: int  # position of the header in the file
    header: str
    groups: dict[str, str]  # canonical column -> the part of the header that fills it


def _melted_headers(source: FileSource, spec: Unpivot, header: list[str], where: str) -> list[_Melted]:
    """The headers the regex takes, each with its named groups; errors name the file and the headers it has."""
    melted = []
    for i, text in enumerate(header):
        name = str(text).replace("\ufeff", "").strip()
        m = spec.pattern.fullmatch(name)
        if m is None:
            continue
        groups = m.groupdict()
        empty = [g for g, v in groups.items() if not v]
        if empty:
            raise SourceError(
                f"{source.name}: {where}: header {name!r} matches unpivot.columns {spec.columns!r} "
                f"but gives no {empty}; nothing of this file was loaded",
                hint="make those groups of `unpivot.columns` required (no `?` after them)",
            )
        melted.append(_Melted(i, name, groups))
    if not melted:
        raise SourceError(
            f"{source.name}: {where} has no header matching unpivot.columns {spec.columns!r} (headers: "
            f"{[str(h) for h in header]}); nothing of this file was loaded",
            hint=f"ask the OPD to use the template's year columns, or change `unpivot.columns` of source "
            f"{source.name!r} in sources.yaml (it must match a whole header, case included)",
        )
    seen: dict[tuple[str, ...], str] = {}
    for col in melted:
        key = tuple(col.groups.values())
        if key in seen:
            raise SourceError(
                f"{source.name}: {where}: headers {seen[key]!r} and {col.header!r} both give {col.groups}, so the "
                "rows they make would share a key; nothing of this file was loaded",
                hint="ask the OPD to remove the repeated column, or narrow `unpivot.columns` to one of them",
            )
        seen[key] = col.header
    return melted


def unpivot(source: FileSource, header: list[str], body: list[list[object]], where: str) -> LongTable:
    """Reshape `body` (rows under `header`) as `source.unpivot` says; long rows keep the order of the wide rows.

    An empty cell under a matching header gives no row unless `empty_cells: keep`; any other value (`0,00`,
    `WTP`) gives a row, and staging judges it like any other cell.
    """
    spec = source.unpivot
    if spec is None:
        raise ValueError(f"source {source.name!r} declares no unpivot")
    melted = _melted_headers(source, spec, header, where)
    taken = {m.index for m in melted}
    kept = [i for i in range(len(header)) if i not in taken]
    out_body: list[list[object]] = []
    filled: dict[str, list[object]] = {c: [] for c in spec.targets}
    raw_rows: list[int] = []
    skipped = 0
    for row_number, row in enumerate(body, start=1):
        ids = [row[i] for i in kept]
        for m in melted:
            cell = row[m.index]
            if cell is None and spec.empty_cells == "skip":
                skipped += 1
                continue
            out_body.append(ids)
            for column, part in m.groups.items():
                filled[column].append(part)
            filled[spec.value].append(cell)
            raw_rows.append(row_number)
    if skipped:
        log.info(
            "%s: %s: %d empty cell(s) under %s gave no row (unpivot.empty_cells: skip)",
            source.name,
            where,
            skipped,
            [m.header for m in melted],
        )
    return LongTable([str(header[i]) for i in kept], out_body, filled, raw_rows)
