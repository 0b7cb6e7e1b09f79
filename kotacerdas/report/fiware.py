"""FIWARE Smart Data Models `KeyPerformanceIndicator` entities (NGSI v2, key-values) of the index and dimension
scores: one entity per city × month × score, valid against the model's JSON Schema."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from kotacerdas.periods import period_bounds
from kotacerdas.report.export_frames import ExportTables

# Maturity level 1–5 as the model's standing (its enum has no place for a level number).
STANDING = {5: "veryGood", 4: "good", 3: "fair", 2: "bad", 1: "veryBad"}


def _timestamp(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return pd.Timestamp(value).tz_localize(None).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def kpi_entities(tables: ExportTables) -> list[dict]:
    entities = []
    for level, frame in (("index", tables.indices), ("dimension", tables.dimension_scores)):
        for r in frame.to_dict("records"):
            if r["score"] is None or pd.isna(r["score"]):
                continue
            start, end = period_bounds(r["period"])
            entity = {
                "id": f"urn:ngsi-ld:KeyPerformanceIndicator:kotacerdas:{r['city_code']}:{r['period']}:{r['code']}",
                "type": "KeyPerformanceIndicator",
                "name": f"{r['name']} — {r['city_name']} {r['period']}",
                "description": f"{r['name']} (0–100), {r['methodology']} {r['methodology_version']}; "
                f"coverage {float(r['coverage']):.2f}; status {r['status']}",
                "category": ["quantitative", "output"],
                "organization": str(r["city_name"]),
                "process": f"smart-city maturity: {r['name']}",
                "calculatedBy": "kotacerdas",
                "calculationMethod": "automatic",
                "calculationFrequency": "monthly",
                "calculationFormula": f"{r['methodology']} {r['methodology_version']} ({level})",
                "calculationPeriod": {"from": start.isoformat(), "to": end.isoformat()},
                "kpiValue": float(r["score"]),
                "address": {
                    "addressLocality": str(r["city_name"]),
                    "addressRegion": str(r["province"]),
                    "addressCountry": "ID",
                },
                "area": str(r["city_code"]),
                "dateNextCalculation": (end + dt.timedelta(days=1)).replace(day=1).isoformat(),
            }
            level_value = r["maturity_level"]
            if level_value is not None and not pd.isna(level_value) and int(level_value) in STANDING:
                entity["currentStanding"] = STANDING[int(level_value)]
            stamp = _timestamp(r.get("published_at"))
            if stamp:
                entity["dateModified"] = stamp
            entities.append(entity)
    return entities
