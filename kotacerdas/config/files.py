"""Reading YAML files of `config/` into pydantic models: errors name the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from kotacerdas.errors import ConfigError

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
CONFIG_DIR_ENV = "KOTACERDAS_CONFIG_DIR"


class Strict(BaseModel):
    """A config section: unknown keys are errors (a typo must not be silently ignored), values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=BaseModel)

# libyaml's parser when PyYAML has it (its wheels do): the same safe loading, some ten times faster than the
# pure-Python one, which took a tenth of a second for a city's masterplan (issue #15)
try:
    from yaml import CSafeLoader as _FastSafeLoader
except ImportError:  # a PyYAML built without libyaml
    from yaml import SafeLoader as _FastSafeLoader  # type: ignore[assignment]


class SAFE_LOADER(_FastSafeLoader):  # noqa: N801 (a loader class, named as the constant it replaced)
    """The safe loader, refusing a key given twice in one mapping: YAML keeps the last one silently, so a setting
    pasted twice with two values would take the one further down without a word."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: its keys may be overridden below it
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the constructor says so itself
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def read_yaml(path: Path, *, missing: str, missing_hint: str) -> Any:
    """The parsed YAML of `path` ({} for an empty file); a missing file or bad syntax is a ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{missing}: {path}", hint=missing_hint)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", hint="fix the syntax at the line shown") from exc
    return data if data is not None else {}


def check_unique(values: list[str], what: str) -> None:
    """Raise ValueError naming the duplicated values (pydantic turns it into a located config error)."""
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"duplicate {what}: {dupes}")


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Parse `path` into `model`; any problem raises ConfigError naming the file, the key and the fix."""
    data = read_yaml(path, missing="config file not found", missing_hint=f"create it or set {CONFIG_DIR_ENV}")
    return validate_yaml_model(path, data, model)


def validate_yaml_model(path: Path, data: Any, model: type[M]) -> M:
    """`data`, read from `path`, as `model`; a mismatch raises ConfigError naming the file, the key and the fix."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}", hint="correct the keys named above") from exc
