"""Labels people read come from config, Bahasa Indonesia first: complete for the shipped files, validated on load."""

from __future__ import annotations

import shutil

import pytest
import yaml
from conftest import REPO_ROOT

from kotacerdas.config import ProjectConfig
from kotacerdas.errors import ConfigError, KotacerdasError
from kotacerdas.report.cells import neutralise
from kotacerdas.report.labels import load_labels
from kotacerdas.report.views import is_complete


def test_every_dimension_element_indicator_predicate_and_grade_has_both_names():
    project = ProjectConfig(REPO_ROOT / "config")
    method = yaml.safe_load((REPO_ROOT / "config/methodologies/maturity-v1.yaml").read_text(encoding="utf-8"))
    for lang in ("id", "en"):
        labels = load_labels(project, lang)
        for code, dim in method["dimensions"].items():
            assert labels.dimensions[code] == dim[f"name_{lang}"]
            for element in dim["elements"]:
                assert labels.elements[element] == dim["element_names"][element][f"name_{lang}"]
        assert set(labels.predicates) == {"Memuaskan", "Sangat Baik", "Baik", "Cukup", "Kurang"}
        assert set(labels.grades) == {"A", "B", "C", "D"}
    english, bahasa = load_labels(project, "en"), load_labels(project, "id")
    assert bahasa.dimensions["governance"] == "Tata Kelola Cerdas" and english.dimensions["governance"] == (
        "Smart Governance"
    )
    assert bahasa.predicates["Sangat Baik"] == "Sangat Baik" and english.predicates["Sangat Baik"] == "Very good"
    assert bahasa.grades["C"] == "Kurang Baik" and english.grades["C"] == "Fair"
    with pytest.raises(KotacerdasError, match="unknown language"):
        load_labels(project, "fr")


def test_a_name_for_an_unknown_element_is_refused_with_the_file_and_key(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    path = config / "methodologies" / "maturity-v1.yaml"
    method = yaml.safe_load(path.read_text(encoding="utf-8"))
    method["dimensions"]["governance"]["element_names"]["smart_parking"] = {"name_id": "Parkir", "name_en": "Parking"}
    path.write_text(yaml.safe_dump(method, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"maturity-v1\.yaml.*dimensions\.governance.*smart_parking"):
        load_labels(ProjectConfig(config), "id")


def test_only_an_incomplete_status_keeps_a_period_from_being_a_baseline():
    assert is_complete(None) and is_complete(float("nan")) and is_complete("complete") and is_complete("ok")
    assert not is_complete("incomplete")


@pytest.mark.parametrize("cell", ["=1+1", "+31", "-2", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_starts_are_neutralised_and_other_cells_kept(cell):
    assert neutralise(cell) == "'" + cell
    assert neutralise("Kota Pangkalpinang") == "Kota Pangkalpinang" and neutralise(-2.5) == -2.5


def test_every_delivery_status_has_a_label_in_both_languages():
    # the scorecard shows an OPD's delivery by its label: a status without one would stop the page from rendering
    from kotacerdas.quality.timeliness import STATUSES

    project = ProjectConfig(REPO_ROOT / "config")
    bahasa, english = load_labels(project, "id"), load_labels(project, "en")
    for status in STATUSES:
        assert bahasa.text(f"status_{status}") and english.text(f"status_{status}"), status
    assert english.text("status_received_undated") == "received, date unknown"
