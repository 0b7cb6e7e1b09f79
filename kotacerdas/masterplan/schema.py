"""The masterplan file: dimensions → programmes → activities, indicators with baseline and yearly targets, the
APBD budget per year, quick-win stages and links to the RPJMD and to the maturity indicators.

One file per city and version under `config/masterplan/<city>/` (YAML, or the Excel template read into the same
model; `kotacerdas.masterplan.reader`). A bad file fails with its path, the row (dimension, programme, indicator …)
and the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from kotacerdas.config.files import Strict, check_unique
from kotacerdas.errors import ConfigError

Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Code = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
# The six Kominfo smart-city dimensions, as config/indicators.yaml names them.
DimensionCode = Literal["governance", "branding", "economy", "living", "society", "environment"]
Stage = Literal["I", "II", "III", "IV", "V"]
DIMENSIONS: tuple[DimensionCode, ...] = ("governance", "branding", "economy", "living", "society", "environment")
STAGES: tuple[Stage, ...] = ("I", "II", "III", "IV", "V")


class RpjmdTarget(Strict):
    """A target (sasaran) of the RPJMD with its mission and its key performance indicators (IKU/IKD)."""

    code: Code
    misi: str
    sasaran: str
    iku: list[str] = []  # IKU/IKD codes of the RPJMD


class Indicator(Strict):
    code: Code
    kind: Literal["output", "outcome"]
    name: str
    unit: str
    baseline: float | None = None  # None: no baseline yet (the review reports it)
    baseline_year: int | None = None
    targets: dict[int, float] = {}  # year -> target


class QuickWin(Strict):
    stage: Stage  # tahap I, II, …
    year: int
    due: Month | None = None  # when it must be delivered; default: Programme.quick_win_due


class Activity(Strict):
    code: Code
    name: str
    opd: str | None = None  # default: the programme's OPD
    start: Month
    end: Month
    budget: dict[int, float] = {}

    @model_validator(mode="after")
    def _ordered(self) -> Activity:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Programme(Strict):
    code: Code
    name: str
    opd: str | None = None  # the responsible OPD; missing is allowed here and reported by the review
    start: Month
    end: Month
    quick_win: QuickWin | None = None
    budget: dict[int, Annotated[float, Field(ge=0)]] = {}  # APBD per year, rupiah
    rpjmd: list[str] = []  # codes of `rpjmd` targets it serves
    maturity_indicators: list[str] = []  # codes of config/indicators.yaml
    indicators: list[Indicator] = []
    activities: list[Activity] = []

    @model_validator(mode="after")
    def _ordered(self) -> Programme:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        check_unique([i.code for i in self.indicators], "indicator codes")
        check_unique([a.code for a in self.activities], "activity codes")
        return self

    @property
    def quick_win_due(self) -> str | None:
        """The month a quick win must be delivered: its `due`, else the programme's end if it ends in the quick
        win's year, else December of that year."""
        qw = self.quick_win
        if qw is None:
            return None
        return qw.due or (self.end if self.end[:4] == str(qw.year) else f"{qw.year}-12")


class Dimension(Strict):
    code: DimensionCode
    name: str | None = None
    programmes: list[Programme] = []


class Masterplan(Strict):
    city_code: Annotated[str, Field(pattern=r"^\d{2}\.\d{2}$")]
    version: Code
    effective_from: Month  # the first month this version is in force
    title: str
    supersedes: str | None = None  # the version it revises
    rpjmd: list[RpjmdTarget] = []
    dimensions: list[Dimension] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Masterplan:
        check_unique([d.code for d in self.dimensions], "dimensions")
        check_unique([p.code for p in self.programmes], "programme codes")
        check_unique([t.code for t in self.rpjmd], "RPJMD target codes")
        known = {t.code for t in self.rpjmd}
        for p in self.programmes:
            unknown = sorted(set(p.rpjmd) - known)
            if unknown:
                raise ValueError(f"programme {p.code}: rpjmd code(s) {unknown} are not in `rpjmd` ({sorted(known)})")
        return self

    @property
    def programmes(self) -> list[Programme]:
        return [p for d in self.dimensions for p in d.programmes]

    def dimension_of(self) -> dict[str, str]:
        return {p.code: d.code for d in self.dimensions for p in d.programmes}


def _row_name(data: Any, loc: tuple) -> str:
    """`dimensions[0] governance > programmes[2] GOV-03 > indicators[1] GOV-03-O2`: the row, by index and code."""
    parts, node, field = [], data, []
    i = 0
    while i < len(loc):
        key = loc[i]
        items = node.get(key) if isinstance(node, dict) and isinstance(key, str) else None
        if isinstance(items, list) and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            idx = loc[i + 1]
            item = items[idx] if idx < len(items) else None
            code = item.get("code") if isinstance(item, dict) else None
            parts.append(f"{key}[{idx}]" + (f" {code}" if code else ""))
            node = item
            i += 2
            continue
        field = [str(k) for k in loc[i:]]
        break
    row = " > ".join(parts) or "(top level)"
    return f"{row}: field `{'.'.join(field) or '(row)'}`"


def parse_masterplan(data: Any, origin: str, *, rows: dict[tuple, str] | None = None) -> Masterplan:
    """Validate parsed content; every error names the row and field (for Excel, the sheet and row in `rows`)."""
    try:
        return Masterplan.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            where = _row_name(data, loc)
            if rows:  # the longest located prefix: the sheet row it came from
                for n in range(len(loc), 0, -1):
                    if loc[:n] in rows:
                        where = f"{rows[loc[:n]]} ({where})"
                        break
            msg = e["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {msg}")
        raise ConfigError(f"{origin}: " + "; ".join(problems), hint="correct the rows and fields named above") from exc
