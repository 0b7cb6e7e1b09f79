"""When each record of a simulated month was entered into its OPD's system (what a source's `entered_field` sends).

Records filed online are entered when they are opened. Some are taken on paper and typed in later, in one batch per
OPD × table × month: most between the month's close and its due date, a deterministic tenth a few days after it, as
the simulated file drops are uploaded (`masterplan.uploaded_at`). A record the system has not entered yet is not
there: the server hides it until then, so a pull before the batch misses it and a later pull finds it.
"""

from __future__ import annotations

from kotacerdas.config import ProjectConfig
from kotacerdas.periods import TIMEZONE
from kotacerdas.simulator.generate import EVENTS, TS_FORMAT, parse_stamp, stable_rng
from kotacerdas.simulator.masterplan import uploaded_at

PAPER_SHARE = (0.0, 0.3)  # of an OPD-month's records taken on paper and typed in later
LATE_ENTRY_SHARE = 0.1  # of OPD-months whose paper batch is typed in after the due date


def entry_stamps(
    seed: int, project: ProjectConfig, table: str, city: str, opd: str, month: str, rows: list[dict]
) -> list[str]:
    """One stamp per row (TS_FORMAT, the OPD's wall clock like the rows' own), never before the row was opened."""
    opened = EVENTS[table][0]
    rng = stable_rng(seed, "entered", table, city, opd, month)
    closed, due = project.timeliness.period_end(month), project.timeliness.due_at(opd, table, month)
    batch = uploaded_at(rng, closed, due, late=rng.random() < LATE_ENTRY_SHARE, late_days=(1, 15), window=(0.1, 0.9))
    batch_stamp = batch.tz_localize("UTC").tz_convert(TIMEZONE).strftime(TS_FORMAT)
    paper = rng.uniform(*PAPER_SHARE)
    stamps = []
    for row in rows:
        stamp = row.get(opened)
        if parse_stamp(stamp) is None:  # a date typed wrong (a deliberate defect): the system stamped its entry
            stamps.append(batch_stamp)
        elif rng.random() < paper:  # TS_FORMAT compares in time order (a record of the next month stays later)
            stamps.append(max(batch_stamp, stamp))
        else:
            stamps.append(stamp)
    return stamps
