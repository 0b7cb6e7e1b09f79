"""A project's suites are loaded once per ProjectConfig; a new ProjectConfig reads an edited suite."""

import shutil

from kotacerdas.config import ProjectConfig
from kotacerdas.quality.gate import project_suite
from kotacerdas.schemas import CANONICAL_TABLES


def test_suite_loaded_once_per_project_and_again_for_a_new_one(tmp_path):
    shutil.copytree(ProjectConfig().dir, tmp_path / "config")
    table = CANONICAL_TABLES["complaints"]
    project = ProjectConfig(tmp_path / "config")
    first = project_suite(project, table)
    assert project_suite(project, table) is first
    assert project_suite(project, CANONICAL_TABLES["service_requests"]).table.name == "service_requests"

    path = tmp_path / "config" / "expectations" / "complaints.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("description: Complaints received", "description: Edited complaints"), "utf-8")
    assert project_suite(project, table) is first  # the same run keeps the suite it started with
    assert project_suite(ProjectConfig(tmp_path / "config"), table).description.startswith("Edited complaints")
