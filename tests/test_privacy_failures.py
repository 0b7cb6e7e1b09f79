"""Errors that are not Kotacerdas errors reach Dagster's event log scrubbed (`assets/failures.py`).

A step raises a ValueError quoting a NIK, a phone number, an e-mail address and the warehouse password, with a
clear cause under it (explicit `from`) and a clear context under that; another step raises a Kotacerdas error from
such a cause. Each job runs on a real Dagster instance in a temporary DAGSTER_HOME (SQLite run and event-log
storage, compute logs captured); then every file of DAGSTER_HOME is grepped as bytes. The same bodies without the
wrapper leak (the control), so the grep can fail.
"""

from __future__ import annotations

import pickle
import traceback
from pathlib import Path

import dagster as dg
import pytest

from assets.failures import safe_to_store, scrubbed_failures
from kotacerdas.errors import SourceError
from kotacerdas.scrubbed_errors import ScrubbedError

NIK = "3171012345678901"
PHONE = "0812-3456-7890"
EMAIL = "siti.rahma@contoh-mail.id"
PASSWORD = "Rahasia-Gudang-4242"
SEEDED = (NIK, PHONE, "081234567890", EMAIL, PASSWORD)


def _leaky_row() -> dict:
    # the values are built, not written out, so no code line of the stack holds them
    return {"nik": "".join(["3171", "0123", "4567", "8901"]), "hp": PHONE, "email": EMAIL}


def _raise_pandas_like(row: dict) -> None:
    try:
        try:
            {}[row["nik"]]
        except KeyError:
            raise RuntimeError(f"lookup failed on {row['email']} via postgresql://kc:{PASSWORD}@db/x") from None
    except RuntimeError as exc:
        exc.add_note(f"while reading {row['hp']}")
        # implicit context: the KeyError is suppressed, the RuntimeError is the explicit cause
        raise ValueError(f"invalid literal for int() with base 10: '{row['nik']}' (HP {row['hp']})") from exc


def _raise_kotacerdas(row: dict) -> None:
    try:
        int(row["nik"] + "x")
    except ValueError as exc:
        raise SourceError("the OPD's file could not be read", hint="ask the OPD to deliver it again") from exc


@dg.op
@scrubbed_failures
def leaky_op() -> None:
    _raise_pandas_like(_leaky_row())


@dg.op
@scrubbed_failures
def leaky_kotacerdas_op() -> None:
    _raise_kotacerdas(_leaky_row())


@dg.op
def unscrubbed_op() -> None:
    _raise_pandas_like(_leaky_row())


@dg.job
def leaky_job():
    leaky_op()
    leaky_kotacerdas_op()


@dg.job
def unscrubbed_job():
    unscrubbed_op()


@pytest.fixture
def secrets_env(monkeypatch) -> None:
    """The warehouse password is a secret of the settings; personal data is pseudonymised with this key."""
    monkeypatch.setenv("KOTACERDAS_WAREHOUSE_URL", f"postgresql+psycopg://kc:{PASSWORD}@127.0.0.1:5432/kc_none")
    monkeypatch.setenv("KOTACERDAS_PII_KEY", "failure-test-pii-key")


@pytest.fixture
def dagster_home(tmp_path, monkeypatch, secrets_env) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _run(job) -> tuple[list[dg.DagsterEvent], bool]:
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        return list(result.all_events), result.success


def _leaks(home: Path) -> list[str]:
    files = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    assert any(p.suffix == ".db" for p in files) and any("compute_logs" in str(p) for p in files)
    return sorted(f"{p.relative_to(home)}: {v}" for p, data in files.items() for v in SEEDED if v.encode() in data)


def _chain(error) -> list:
    out = []
    while error is not None:
        out.append(error)
        error = error.cause or error.context
    return out


def test_the_control_leaks_without_the_wrapper(dagster_home):
    events, success = _run(unscrubbed_job)
    assert not success
    assert _leaks(dagster_home), "an unwrapped failure stores its clear text: the grep below can find it"


def test_step_failures_are_stored_scrubbed_and_still_say_what_went_wrong(dagster_home):
    events, success = _run(leaky_job)
    assert not success
    failures = {e.step_key: e.step_failure_data.error for e in events if e.is_step_failure}
    assert set(failures) == {"leaky_op", "leaky_kotacerdas_op"}
    assert _leaks(dagster_home) == []

    # What went wrong: the original type, the scrubbed message (pseudonyms), where (code lines of the stack).
    chain = _chain(failures["leaky_op"])
    user = next(e for e in chain if e.cls_name == "ScrubbedError")
    assert "ScrubbedError: ValueError: invalid literal for int() with base 10: '[nik:" in user.message
    assert "[phone:" in user.message
    assert any("_raise_pandas_like" in line for line in user.stack)
    assert any("leaky_op" in line for line in user.stack)
    cause = user.cause
    assert cause is not None and "ScrubbedError: RuntimeError: lookup failed on [email:" in cause.message
    assert "***" in cause.message and "[phone:" in cause.message  # the password, the note

    chain = _chain(failures["leaky_kotacerdas_op"])
    assert any(e.cls_name == "SourceError" and "ask the OPD" in e.message for e in chain)
    inner = chain[-1]
    assert inner.cls_name == "ScrubbedError" and "ValueError: invalid literal for int()" in inner.message


def test_the_stand_in_carries_nothing_clear_in_any_link_of_its_chain(secrets_env):
    try:
        _raise_pandas_like(_leaky_row())
    except ValueError as exc:
        original = exc
    stored = safe_to_store(original)
    assert isinstance(stored, ScrubbedError) and stored.type_name == "ValueError"
    text = "".join(traceback.format_exception(stored))
    assert NIK in "".join(traceback.format_exception(original))
    assert not [v for v in SEEDED if v in text]
    links, e = [], stored
    while e is not None:
        links.append(e)
        e = e.__cause__ or e.__context__
    assert [type(e).__name__ for e in links] == ["ScrubbedError", "ScrubbedError", "ScrubbedError"]
    assert links[1].__suppress_context__  # `from None` kept
    assert all(not any(v in str(e) for v in SEEDED) for e in links)
    copy = pickle.loads(pickle.dumps(stored))  # executors may send it to another process
    assert (copy.type_name, copy.message, str(copy)) == (stored.type_name, stored.message, str(stored))


def test_every_asset_check_sensor_and_schedule_body_and_the_io_manager_pass_the_door():
    from assets.failures import SCRUBS_FAILURES
    from assets.io_manager import PartitionedPickleIOManager
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    bodies = {}
    for assets_def in graph.assets_defs:  # asset checks are defined as check specs of these
        if assets_def.is_executable:
            bodies[assets_def.op.name] = assets_def.op.compute_fn.decorated_fn
    assert len(bodies) >= 10
    assert [name for name, fn in bodies.items() if not getattr(fn, SCRUBS_FAILURES, False)] == []
    for method in (PartitionedPickleIOManager.handle_output, PartitionedPickleIOManager.load_input):
        assert getattr(method, SCRUBS_FAILURES, False)
    # sensor and schedule errors are stored in their ticks
    evaluations = {s.name: getattr(s, "_run_status_sensor_fn", None) or s._raw_fn for s in defs.sensors or []}
    evaluations |= {s.name: s._execution_fn.decorated_fn for s in defs.schedules or []}
    assert {"opd_file_drop", "failure_webhook", "monthly_close"} <= set(evaluations)
    assert [name for name, fn in evaluations.items() if not getattr(fn, SCRUBS_FAILURES, False)] == []
