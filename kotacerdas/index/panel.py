"""Several years in one build, as COINr's purse: one build per Time point, with treatment and normalisation
either per year or global (parameters — goalposts, min/max, winsorisation limits — taken from all years at once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from kotacerdas.index.build import STEPS, IndexBuild, finish_build, new_context, normalise_frame, treat_specs
from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.meta import TIME, UNIT, Framework, read_framework
from kotacerdas.index.method import STAGE_OF, IndexMethod, as_method
from kotacerdas.index.treat import treat


@dataclass(frozen=True, eq=False)
class PanelBuild:
    builds: dict[Any, IndexBuild]  # one build per Time point
    global_steps: list[str]  # the steps whose parameters came from all years

    @property
    def scores(self) -> pd.DataFrame:
        """Aggregate scores of every year, long: Time, uCode, one column per aggregate."""
        return pd.concat({t: b.scores for t, b in self.builds.items()}, names=[TIME, UNIT]).reset_index()

    @property
    def ranks(self) -> pd.DataFrame:
        """Ranks within each year."""
        return pd.concat({t: b.ranks for t, b in self.builds.items()}, names=[TIME, UNIT]).reset_index()


def _stacked(frames: dict[Any, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, names=[TIME, UNIT])


def build_panel(
    idata: pd.DataFrame | Framework, imeta: pd.DataFrame | None, method: IndexMethod | dict[str, Any], times=None
) -> PanelBuild:
    """Build every Time point of panel iData (or those in `times`). `method.panel` says which of treat and
    normalise are global (COINr's `Normalise` of a purse is global by default; its `Treat` works per coin)."""
    fw = idata if isinstance(idata, Framework) else read_framework(idata, imeta)
    m = as_method(method)
    if not fw.times:
        raise IndexMethodError("a panel build needs a Time column in iData", hint="use build_index for one year")
    times = list(fw.times if times is None else times)
    glob = [s for s in ("treat", "normalise") if getattr(m.panel, s) == "global"]
    if "normalise" in glob and m.normalise.method == "dist2ref":
        raise IndexMethodError(
            "dist2ref with global panel normalisation has one reference unit per year",
            hint="set panel.normalise: per_year",
        )
    methods = {t: m.vary(time=t) for t in times}
    ctxs = {t: new_context(fw, methods[t]) for t in times}
    data = {t: {"Raw": fw.cross_section(t)[fw.indicators].astype(float)} for t in times}
    logs: dict[Any, list] = {t: [{"step": "method", "version": m.version, "time": t, "order": m.order}] for t in times}
    frames = {t: data[t]["Raw"] for t in times}
    for step in m.order:
        if step in glob and (step != "treat" or m.treat is not None):
            stacked = _stacked(frames)
            if step == "treat":
                res = treat(stacked, **treat_specs(m))
                out, flags = res.data, res.flags
                for t in times:
                    ctxs[t].treat_flags = flags.xs(t, level=TIME)
                    ctxs[t].treat_summary = res.summary
            else:
                out = normalise_frame(fw, m, stacked)
            frames = {t: out.xs(t, level=TIME) for t in times}
        else:
            frames = {t: STEPS[step](ctxs[t], frames[t]) for t in times}
        for t in times:
            data[t][STAGE_OF[step]] = frames[t]
            logs[t].append({"step": step, "global": step in glob, "units": int(frames[t].shape[0])})
    builds = {t: finish_build(fw, methods[t], ctxs[t], data[t], logs[t]) for t in times}
    return PanelBuild(builds=builds, global_steps=glob)
