"""Reading masterplan files and their history: YAML or the Excel template into one model, every version of a city.

A revision is a new file with a later `effective_from`: the older files stay, and each month is judged against the
version in force then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kotacerdas.config.files import check_unique, read_yaml
from kotacerdas.errors import ConfigError
from kotacerdas.masterplan.excel import read_workbook
from kotacerdas.masterplan.schema import Masterplan, parse_masterplan


def load_masterplan(
    path: str | Path, *, opd_codes: Iterable[str] | None = None, indicator_codes: Iterable[str] | None = None
) -> Masterplan:
    """A masterplan file, YAML or the Excel template (`kotacerdas masterplan template`), into one model.

    With `opd_codes` / `indicator_codes` (cities.yaml, indicators.yaml) unknown codes are errors naming the row.
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        data, rows = read_workbook(path)
        plan = parse_masterplan(data, str(path), rows=rows)
    else:
        data = read_yaml(path, missing="masterplan file not found", missing_hint="check the path")
        plan = parse_masterplan(data, str(path))
    _check_references(plan, path, opd_codes, indicator_codes)
    return plan


def _check_references(
    plan: Masterplan, path: Path, opd_codes: Iterable[str] | None, indicator_codes: Iterable[str] | None
) -> None:
    problems = []
    opds = set(opd_codes) if opd_codes is not None else None
    indicators = set(indicator_codes) if indicator_codes is not None else None
    for d in plan.dimensions:
        for p in d.programmes:
            row = f"programme {p.code} ({d.code})"
            if opds is not None:
                for who, opd in [("opd", p.opd), *((f"activities {a.code} opd", a.opd) for a in p.activities)]:
                    if opd is not None and opd not in opds:
                        problems.append(f"{row}: field `{who}`: OPD {opd!r} is not in cities.yaml")
            if indicators is not None:
                unknown = sorted(set(p.maturity_indicators) - indicators)
                if unknown:
                    problems.append(f"{row}: field `maturity_indicators`: {unknown} are not in config/indicators.yaml")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems), hint="use codes of cities.yaml and indicators.yaml")


@dataclass(frozen=True)
class MasterplanHistory:
    """Every version of one city's masterplan, oldest first; a month is judged by the version in force then."""

    city_code: str
    versions: tuple[tuple[Path, Masterplan], ...]

    def in_force(self, month: str) -> Masterplan | None:
        current = None
        for _, plan in self.versions:
            if plan.effective_from <= month:
                current = plan
        return current

    def latest(self) -> Masterplan:
        return self.versions[-1][1]


def load_history(
    folder: str | Path,
    city_code: str,
    *,
    opd_codes: Iterable[str] | None = None,
    indicator_codes: Iterable[str] | None = None,
) -> MasterplanHistory:
    """All masterplan files of a city (`<folder>/<city>/*.yaml|*.xlsx`), ordered by `effective_from`."""
    city_dir = Path(folder) / city_code
    files = sorted([*city_dir.glob("*.yaml"), *city_dir.glob("*.xlsx")]) if city_dir.is_dir() else []
    opd_codes = list(opd_codes) if opd_codes is not None else None
    indicator_codes = list(indicator_codes) if indicator_codes is not None else None
    plans = [(f, load_masterplan(f, opd_codes=opd_codes, indicator_codes=indicator_codes)) for f in files]
    for f, plan in plans:
        if plan.city_code != city_code:
            raise ConfigError(f"{f}: city_code {plan.city_code} in the folder of {city_code}", hint="move the file")
    try:
        check_unique([p.version for _, p in plans], "version")
    except ValueError as exc:
        raise ConfigError(f"{city_dir}: {exc}", hint="a revision needs a new version") from None
    months = [p.effective_from for _, p in plans]
    if len(set(months)) != len(months):
        raise ConfigError(
            f"{city_dir}: two versions take effect in the same month ({sorted(months)})",
            hint="give the revision a later effective_from",
        )
    plans.sort(key=lambda fp: fp[1].effective_from)
    return MasterplanHistory(city_code, tuple(plans))
