"""The method of a build: each step's settings, validated (pydantic), versioned, and easy to vary.

Defaults follow COINr 1.x (docs/methodology/index-engine.md lists each setting's COINr argument and where the
engine deliberately differs).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kotacerdas.index.errors import IndexMethodError
from kotacerdas.index.normalise import NormaliseMethod

StepName = Literal["denominate", "screen", "impute", "treat", "normalise"]
PRE_AGGREGATION: tuple[StepName, ...] = ("denominate", "screen", "impute", "treat", "normalise")
STAGE_OF = {
    "denominate": "Denominated",
    "screen": "Screened",
    "impute": "Imputed",
    "treat": "Treated",
    "normalise": "Normalised",
}


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DenominateStep(_Step):
    """Divide indicators by the denominator named in iMeta (`by="metadata"`) or given here."""

    by: Literal["metadata"] | dict[str, str] = "metadata"


class ScreenStep(_Step):
    dat_thresh: float | None = Field(None, ge=0, le=1)
    nonzero_thresh: float | None = Field(None, ge=0, le=1)
    # COINr's Non_Zero: share of non-zero values among the *available* ones ("all": among all indicators)
    nonzero_basis: Literal["available", "all"] = "available"
    force_include: list[str] = []
    force_exclude: list[str] = []


class ImputeStep(_Step):
    """mean/median by column (COINr i_mean/i_median, with `group`: i_mean_grp), by row within the indicator
    groups of `group_level` (COINr impute_by = "row"), "regression" (scikit-learn IterativeImputer), or panel
    methods over the Time column (COINr impute_panel: latest, constant, linear, linear_constant)."""

    method: Literal[
        "mean",
        "median",
        "regression",
        "latest",
        "locf",
        "constant",
        "linear",
        "linear_constant",
        "linear_inside",
    ] = "mean"
    by: Literal["column", "row"] = "column"
    group: str | None = None  # a group column of iData, e.g. "Group_EurAsia" (column mean/median only)
    group_level: int | None = None  # row imputation: indicators grouped by their ancestor at this level (≥ 2)
    normalise_first: bool | None = None  # None: True by row, False by column (COINr's default)
    max_time: int | None = Field(None, ge=1)  # "latest": look back at most this many time points
    max_iter: int = Field(10, ge=1)  # "regression": rounds of IterativeImputer
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self):
        panel = self.method in ("latest", "locf", "constant", "linear", "linear_constant", "linear_inside")
        if self.group is not None and (panel or self.by == "row" or self.method == "regression"):
            raise ValueError("group applies to column mean/median imputation")
        if self.by == "row" and self.method not in ("mean", "median"):
            raise ValueError("by: row applies to mean/median imputation")
        if self.group_level is not None and self.by != "row":
            raise ValueError("group_level applies to by: row")
        return self


class TreatIndiv(_Step):
    """Per-indicator treatment (COINr indiv_specs); unset fields take the step's values."""

    winmax: int | None = Field(None, ge=0)
    no_limit: bool = False  # winmax = no limit (COINr winmax = NULL)
    skew_thresh: float | None = None
    kurt_thresh: float | None = None
    fallback: Literal["ctlog", "ctlog_orig", "ctlog_plus", "log", "boxcox", "none"] | None = None
    boxcox_lambda: float | None = None
    skip: bool = False  # COINr "none"


class TreatStep(_Step):
    winmax: int | None = Field(5, ge=0)  # COINr 1.x default 5; None: no limit (COINr winmax = NULL)
    winmax_share: float | None = Field(None, gt=0, le=1)  # COINr 0.x: ceil(share · units), 0.1 by default there
    count: Literal["points", "steps"] = "points"  # COINr 1.x counts points winsorised, 0.x steps
    skew_thresh: float = 2.0  # inside the winsorisation loop (COINr f1_para)
    kurt_thresh: float = 3.5
    check_skew_thresh: float | None = None  # needs treatment? before and after (COINr f_pass_para; None: 2)
    check_kurt_thresh: float | None = None  # (None: 3.5)
    fallback: Literal["ctlog", "ctlog_orig", "ctlog_plus", "log", "boxcox", "none"] = "ctlog"
    boxcox_lambda: float | None = None  # None with fallback boxcox: fitted (maximum likelihood)
    combine: bool = False  # fallback applied to the winsorised column (COINr combine_treat)
    winchange: bool = True
    exclude: list[str] = []
    indiv: dict[str, TreatIndiv] = {}


class NormaliseIndiv(_Step):
    """Per-indicator normalisation (COINr indiv_specs): a method and its parameters."""

    method: NormaliseMethod
    lower: float | None = None
    upper: float | None = None
    mean: float | None = None
    sd: float | None = None
    goalposts: tuple[float, float] | None = None
    scale: float | None = None
    reference: Literal["mean", "best", "worst"] | None = None
    band: float | None = None
    classes: int | None = None


class NormaliseStep(_Step):
    method: NormaliseMethod = "minmax"
    lower: float = 0.0
    upper: float = 100.0
    mean: float = 0.0
    sd: float = Field(1.0, gt=0)
    target_form: Literal["range", "ratio"] = "range"
    ref_unit: str | None = None
    cap_max: bool = False
    goalposts: dict[str, tuple[float, float]] | None = None
    trunc: bool = True  # goalposts clipped to [0, 1] (False: COINr n_scaled)
    scale: float = 100.0
    reference: Literal["mean", "best", "worst"] = "mean"  # ratio / rel_diff / abs_diff
    band: float = Field(0.2, ge=0)  # above_below_mean: the ±p band around the mean
    classes: int = Field(5, ge=2)  # categorical: quantile classes
    on_degenerate: Literal["error", "na"] = "error"  # COINr returns ±Inf/NaN; "na" leaves the column missing
    indiv: dict[str, NormaliseIndiv] = {}


class WeightsStep(_Step):
    """Weights from iMeta, equal, PCA-based (see `kotacerdas.index.pca`) or optimised (`get_opt_weights`);
    `overrides` replace single weights (with PCA, the override wins and the levels above use it)."""

    source: Literal["metadata", "equal", "pca", "optimised"] = "metadata"
    overrides: dict[str, float] = {}
    pca_levels: list[int] | None = None  # levels whose weights come from PCA (None: all); others from iMeta
    pca_form: Literal["loadings", "squared"] = "loadings"  # COINr: raw PC1 loadings; squared: OECD Handbook
    opt_level: int | None = None  # optimised: the level whose weights are optimised (None: 1)
    opt_target: Literal["equal"] | list[float] = "equal"  # target importance of each code of the level
    opt_type: Literal["balance", "infomax"] = "balance"
    opt_cortype: Literal["pearson", "spearman", "kendall"] = "pearson"
    opt_toler: float = 0.1  # COINr default (stats::optim reltol)
    opt_maxiter: int = 500

    @model_validator(mode="after")
    def _source_options(self):
        if self.pca_levels is not None and self.source != "pca":
            raise ValueError("pca_levels applies only with source 'pca'")
        if self.opt_level is not None and self.source != "optimised":
            raise ValueError("opt_level applies only with source 'optimised'")
        return self


class LevelAggregate(_Step):
    method: Literal["arith_mean", "geom_mean", "harm_mean", "gen_mean", "copeland"]
    p: float | None = None
    dat_thresh: float | None = Field(None, ge=0, le=1)


class AggregateStep(_Step):
    method: Literal["arith_mean", "geom_mean", "harm_mean", "gen_mean", "copeland"] = "arith_mean"
    p: float | None = None
    dat_thresh: float | None = Field(None, ge=0, le=1)
    levels: dict[int, LevelAggregate] = {}  # per level of the aggregates computed (2 = the first aggregates)

    def at(self, level: int) -> tuple[str, float | None, float | None]:
        """Method, p and dat_thresh used to compute the aggregates of `level`."""
        lv = self.levels.get(level)
        return (self.method, self.p, self.dat_thresh) if lv is None else (lv.method, lv.p, lv.dat_thresh)


class ResultsStep(_Step):
    rank_on: Literal["unrounded", "rounded"] = "unrounded"  # COINr 1.x ranks unrounded; 0.x rounded to 2 dp
    round_to: int | None = None  # decimals for rank_on rounded (None: 2, as COINr 0.x's tables)
    group_ranks: list[str] = []  # group columns to rank within

    @property
    def rank_digits(self) -> int | None:
        """Decimals scores are rounded to before ranking (None: not rounded)."""
        if self.rank_on == "unrounded":
            return None
        return 2 if self.round_to is None else self.round_to

    @model_validator(mode="before")
    @classmethod
    def _legacy_round_to(cls, data: Any) -> Any:
        # `round_to: 2` alone (the engine's older setting) meant "rank on scores rounded to 2 dp"
        if isinstance(data, dict) and data.get("round_to") is not None and "rank_on" not in data:
            data = {**data, "rank_on": "rounded"}
        return data


class PanelStep(_Step):
    """Several years in one build (COINr's purse): which steps take their parameters from all years at once."""

    normalise: Literal["global", "per_year"] = "global"  # COINr Normalise.purse(global = TRUE)
    treat: Literal["global", "per_year"] = "per_year"  # COINr treats each coin of a purse on its own


class IndexMethod(_Step):
    """Settings of every step; a step set to None is skipped (its output equals its input)."""

    version: str
    time: int | str | None = None  # which Time of a panel to build (None: the latest)
    order: list[StepName] = list(PRE_AGGREGATION)
    denominate: DenominateStep | None = DenominateStep()
    screen: ScreenStep | None = None
    impute: ImputeStep | None = ImputeStep()
    treat: TreatStep | None = TreatStep()
    normalise: NormaliseStep = NormaliseStep()
    weights: WeightsStep = WeightsStep()
    aggregate: AggregateStep = AggregateStep()
    results: ResultsStep = ResultsStep()
    panel: PanelStep = PanelStep()

    @model_validator(mode="after")
    def _order(self):
        if sorted(self.order) != sorted(PRE_AGGREGATION):
            raise ValueError(f"order must list each of {list(PRE_AGGREGATION)} once, got {self.order}")
        return self

    def vary(self, **changes: Any) -> IndexMethod:
        """A copy with some steps changed, e.g. `vary(normalise={"method": "zscore"}, treat=None)`."""
        data = self.model_dump()
        for step, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(step), dict):
                data[step] = {**data[step], **value}
            else:
                data[step] = value
        res = changes.get("results")
        if isinstance(res, dict) and "rank_on" not in res and res.get("round_to") is not None:
            data["results"]["rank_on"] = "rounded"
        return as_method(data)


def as_method(method: IndexMethod | dict[str, Any]) -> IndexMethod:
    """Validate a plain dict into an `IndexMethod`; pydantic errors become one clear IndexMethodError."""
    if isinstance(method, IndexMethod):
        return method
    try:
        return IndexMethod.model_validate(method)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "method"
        raise IndexMethodError(
            f"method setting '{where}': {first['msg']}",
            hint="see kotacerdas.index.method (and docs/methodology/index-engine.md) for the allowed settings",
        ) from exc
