"""Drawing a period's scorecard pages, in the step's own process or, for a run of many cities, in worker processes.

A city's pages cost about 0.1 s of CPU (the trend chart's vl-convert render, which holds the GIL throughout, and two
Jinja pages), about a tenth of a national month's run, while the step's own process mostly waits for them. Workers
draw them on the cores the rest of the run leaves idle; the pages are the same bytes either way (the time they say
they were generated at is fixed before any is drawn).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import kotacerdas.privacy  # noqa: F401  (installs the errors' scrubber: a worker's error reaches the parent scrubbed)
from kotacerdas.config import ProjectConfig
from kotacerdas.report.labels import Labels
from kotacerdas.report.reader import ScorecardData
from kotacerdas.report.scorecard_page import build_scorecard_html, trend_chart, write_scorecard

# A worker's start (importing pandas, Jinja and vl-convert: ~1.5 s of CPU) pays for itself from about this many
# cities' pages (~0.1 s each) on.
MIN_CITIES_PER_PROCESS = 25
# Cities sent to a worker at once: what their pages share (the period's ranking, Monte Carlo, catalogue) is pickled
# once per batch, and a few batches in flight keep memory bounded by the batch, not the month.
CITIES_PER_TASK = 16


@dataclass(frozen=True)
class PageSet:
    """What every scorecard page of a period shares; `labels` in page order, the first language's draws the chart."""

    project: ProjectConfig
    labels: dict[str, Labels]
    out_dir: Path
    period: str
    generated: dt.datetime

    def draw(self, data: ScorecardData) -> list[Path]:
        """A city's page in every language, written; its trend chart (no words in it) drawn once for all."""
        trend = trend_chart(data, next(iter(self.labels.values())))
        return [
            write_scorecard(
                build_scorecard_html(data, labels, self.project, generated=self.generated, trend=trend),
                self.out_dir,
                data.city_code,
                self.period,
                lang,
            )
            for lang, labels in self.labels.items()
        ]


def workers_for(
    processes: int, cities: int, min_cities_per_process: int = MIN_CITIES_PER_PROCESS, cpus: int | None = None
) -> int:
    """Worker processes for `cities` pages: none (0, drawn in this process) unless at least two would pay off; never
    more than the CPUs this process may run on (`cpus`, read from the system when None)."""
    cpus = len(os.sched_getaffinity(0)) if cpus is None else cpus
    workers = min(processes, cpus, cities // max(1, min_cities_per_process))
    return workers if workers >= 2 else 0


def draw_pages(pages: PageSet, scorecards: Iterable[ScorecardData], workers: int) -> list[Path]:
    """Every city's pages, in the order the cities come; `workers` 0 draws them here."""
    if workers < 2:
        return [path for data in scorecards for path in pages.draw(data)]
    # spawn: a fork would copy this process's threads' locks (Dagster's, DuckDB's) in whatever state they are
    context = multiprocessing.get_context("spawn")
    written: list[Path] = []
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(pages,))
    try:
        pending: deque[Future] = deque()
        for batch in _batches(scorecards, CITIES_PER_TASK):
            pending.append(pool.submit(_draw, batch))
            while len(pending) > 2 * workers:
                written += pending.popleft().result()
        while pending:
            written += pending.popleft().result()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # the first failure is the step's; nothing left running
        raise
    pool.shutdown(wait=True)
    return written


def _batches(items: Iterable[ScorecardData], size: int) -> Iterator[list[ScorecardData]]:
    batch: list[ScorecardData] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


_pages: PageSet | None = None  # a worker's share of the period, set once when it starts


def _start(pages: PageSet) -> None:
    global _pages
    _pages = pages
    # Ctrl-C reaches the whole process group: the parent stops the pool, a worker has nothing to say about it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a parent killed outright (the OOM killer, a forced terminate) cannot stop its workers: each stops itself
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="parent-watch", daemon=True).start()


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


def _draw(batch: list[ScorecardData]) -> list[Path]:
    assert _pages is not None, "a worker draws only after _start"
    return [path for data in batch for path in _pages.draw(data)]
