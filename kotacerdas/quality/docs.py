"""Great Expectations Data Docs (static HTML) for a validation: one site per table under a folder, e.g. a run's.

The page is GX's own rendering of the validation result, with two changes: failing values are cut to a few per
rule (a page for a million rows stays small), and the volume rule (evaluated by `kotacerdas.quality.volume`, not
by GX) is shown as GX's row-count expectation with its band and note. The staged rows GX saw have been scrubbed of
personal data, so the pages hold none.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from kotacerdas.config import ProjectConfig, settings
from kotacerdas.quality import gx_runtime
from kotacerdas.quality.validate import QualityResult

# Result keys that list values or rows; cut to `values_shown` entries.
_LISTS = (
    "partial_unexpected_list",
    "partial_unexpected_index_list",
    "partial_unexpected_counts",
    "unexpected_list",
    "unexpected_index_list",
)


def _site_name(folder: Path) -> str:
    return "kc_" + hashlib.sha256(str(folder).encode()).hexdigest()[:16]


def _ensure_site(context, folder: Path) -> str:
    name = _site_name(folder)
    if name not in context.list_data_docs_sites():
        views = "kotacerdas.quality.docs_views"
        context.add_data_docs_site(
            name,
            {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "view": {"module_name": views, "class_name": "CachedJinjaIndexPageView"},
                },
                "site_section_builders": {
                    "validations": {"view": {"module_name": views, "class_name": "CachedJinjaPageView"}},
                    "expectations": "None",
                    "profiling": "None",  # this site shows validations only
                },
            },
        )
    return name


def _trimmed(result, values_shown: int):
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

    res = dict(result.result or {})
    for key in _LISTS:
        if isinstance(res.get(key), list):
            res[key] = res[key][:values_shown]
    res.pop("unexpected_index_query", None)
    if "unexpected_list" in res:  # the gate asks GX for no partial list; the page shows the first values
        res["partial_unexpected_list"] = res["unexpected_list"]
    return ExpectationValidationResult(
        success=result.success,
        expectation_config=result.expectation_config,
        result=res,
        meta=result.meta,
        exception_info=result.exception_info,
    )


def _volume_result(quality: QualityResult):
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

    v = quality.volume
    expectation = gx.expectations.ExpectTableRowCountToBeBetween(
        min_value=None if v.lower is None else int(v.lower),
        max_value=None if v.upper is None else int(v.upper),
        meta={"kotacerdas_rule": v.rule.id, "evaluated_by": "kotacerdas.quality.volume (rows delivered, raw zone)"},
        description=f"[{v.rule.severity}] {v.rule.description}: {v.note}",
    )
    return ExpectationValidationResult(
        success=v.success, expectation_config=expectation.configuration, result={"observed_value": v.observed}
    )


def write_data_docs(quality: QualityResult, folder: str | Path, *, run_name: str, values_shown: int = 20) -> Path:
    """Render `quality` into the Data Docs site in `folder` (created if needed); returns the validation's page.

    `run_name` groups the pages of one pipeline run (e.g. the Dagster run id). The site's `index.html` lists
    every validation written to `folder`.
    """
    if quality.gx_result is None:
        raise ValueError("the validation result has no GX result to render (validate_table makes one)")
    gx_runtime.import_gx()
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    results = [_trimmed(r, values_shown) for r in quality.gx_result.results]
    if quality.volume is not None:
        results.append(_volume_result(quality))
    stats = calc_validation_statistics(results)._asdict()
    validated_at = pd.Timestamp(quality.validated_at or pd.Timestamp.now()).strftime("%Y%m%dT%H%M%S")
    meta = dict(quality.gx_result.meta or {})
    meta["run_id"] = {"run_name": run_name, "run_time": validated_at}
    meta["kotacerdas"] = {
        "table": quality.table,
        "city": quality.city,
        "month": quality.month,
        "rows": quality.row_count,
        "rejected_share": round(quality.rejected_share, 6),
    }
    page = ExpectationSuiteValidationResult(
        success=bool(stats.pop("success")), results=results, suite_name=quality.table, statistics=stats, meta=meta
    )
    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=quality.table),
        run_id=RunIdentifier(run_name=run_name, run_time=validated_at),
        batch_identifier=f"{quality.city}_{quality.month}",
    )
    with gx_runtime.lock():
        context = gx_runtime.get_context()
        site = _ensure_site(context, folder)
        store = context.validation_results_store
        store.set(identifier, page)
        try:
            context.build_data_docs(site_names=[site], resource_identifiers=[identifier])
        finally:
            store.remove_key(identifier)  # the HTML is written; keep the in-memory store small
    pages = sorted(
        (folder / "validations" / quality.table).rglob(f"{quality.city}_{quality.month}.html"),
        key=lambda p: p.stat().st_mtime,
    )
    if not pages:
        raise RuntimeError(f"GX wrote no Data Docs page for {quality.table} {quality.city} {quality.month} in {folder}")
    return pages[-1]


def data_docs_root(project: ProjectConfig, default: Path | None = None) -> Path:
    """KOTACERDAS_DATA_DOCS_DIR, else `data_docs.dir` of quality.yaml, else `default` (the orchestrator's
    storage), else data/data_docs under the project root."""
    chosen = settings().data_docs_dir or project.quality.data_docs.dir
    if chosen:
        return project.resolve_path(chosen)
    return default if default is not None else project.dir.parent / "data" / "data_docs"
