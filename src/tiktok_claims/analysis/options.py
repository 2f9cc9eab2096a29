"""Every choice an analysis makes, stated once and validated once."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property

from .. import config
from ..config import ENGINES, Balance, Engine, Outcome, Transform
from ..errors import OptionsError
from ..evaluation.metrics import ThresholdRule
from ..model.formula import Formula, parse_formula

__all__ = ["ENGINES", "AnalysisOptions", "Balance", "Engine", "Outcome", "Transform"]
CV_FOLDS_RANGE = (2, 20)
CV_REPEATS_RANGE = (1, 20)
BOOTSTRAP_RANGE = (100, 100_000)
STABILITY_RANGE = (0, 10_000)


@dataclass(frozen=True)
class AnalysisOptions:
    """The options of :func:`tiktok_claims.analyze`, validated when created.

    Parameters
    ----------
    target : str
        The outcome column (one of :data:`~tiktok_claims.Outcome`); its values decide the
        model family. A column that cannot be an outcome is refused by :func:`tiktok_claims.analyze`
        once the data are read.
    seed : int
        Seed of the split, resampling, cross-validation folds, bootstrap and synthetic data.
    balance : {"class-weights", "upsample", "smote", "none"}
        How a binary classifier handles class imbalance (resampling the training part only).
    threshold_rule : ThresholdRule
        How the decision threshold is chosen on training scores, e.g.
        ``ThresholdRule("recall", target_recall=0.9)``.
    cv_folds, cv_repeats : int
        Stratified cross-validation on the training part (2-20 folds, 1-20 repeats).
    bootstrap : int
        Bootstrap resamples of the test metrics' confidence intervals (100-100,000).
    calibrate : bool
        Recalibrate scores by Platt scaling on out-of-fold training scores.
    transform : {"none", "log1p"}
        ``"log1p"`` enters the engagement counts as log(1 + count).
    engine : {"local", "spark"}
        ``"spark"`` also fits and evaluates the binary model on Apache Spark.
    spark_master, spark_tmp : str
        Spark's master URL and scratch location (``engine="spark"`` only).
    stability_refits : int
        Bootstrap refits of the inference model that measure each finding's stability (0-10,000).
    workers : int or None
        Processes for independent stages; ``None``: one per available core (at most 4).
    command : str
        The command line that asked for the analysis (recorded in ``metrics.json``).
    formula : str or None
        A model formula, e.g. ``"verified_status ~ claim_status * author_ban_status +
        np.log1p(video_view_count)"`` (:mod:`tiktok_claims.model.formula` says what it
        may contain); its outcome is the target. ``None``: the default model.

    Examples
    --------
    >>> AnalysisOptions(target="claim_status", cv_folds=3).cv_folds
    3
    >>> AnalysisOptions(balance="oversample")
    Traceback (most recent call last):
    ...
    tiktok_claims.errors.OptionsError: balance must be one of 'class-weights', 'upsample', 'smote', 'none'; got 'oversample'.
    """

    target: Outcome = config.DEFAULT_TARGET
    seed: int = config.DEFAULT_SEED
    balance: Balance = config.DEFAULT_BALANCE
    threshold_rule: ThresholdRule = field(default_factory=ThresholdRule)
    cv_folds: int = config.CV_FOLDS
    cv_repeats: int = config.CV_REPEATS
    bootstrap: int = config.BOOTSTRAP_RESAMPLES
    calibrate: bool = False
    transform: Transform = "none"
    engine: Engine = "local"
    spark_master: str = "local[*]"
    spark_tmp: str | None = None
    stability_refits: int = config.STABILITY_REFITS
    workers: int | None = None
    command: str = ""
    formula: str | None = None

    def __post_init__(self) -> None:
        _text("target", self.target)
        _choice("balance", self.balance, config.BALANCE_OPTIONS)
        _choice("transform", self.transform, config.TRANSFORMS)
        _choice("engine", self.engine, ENGINES)
        _whole("seed", self.seed, (0, None))
        _whole("cv_folds", self.cv_folds, CV_FOLDS_RANGE)
        _whole("cv_repeats", self.cv_repeats, CV_REPEATS_RANGE)
        _whole("bootstrap", self.bootstrap, BOOTSTRAP_RANGE)
        _whole("stability_refits", self.stability_refits, STABILITY_RANGE)
        if self.workers is not None:
            _whole("workers", self.workers, (1, None))
        if not isinstance(self.threshold_rule, ThresholdRule):
            raise OptionsError(
                f"threshold_rule must be a ThresholdRule; got {type(self.threshold_rule).__name__}. "
                f"Make one: ThresholdRule({_example_rule(self.threshold_rule)!r}) (from tiktok_claims import ThresholdRule).",
                "threshold_rule",
            )
        if not isinstance(self.calibrate, bool):
            raise OptionsError(f"calibrate must be True or False; got {self.calibrate!r}.", "calibrate")
        _text("spark_master", self.spark_master)
        _text("command", self.command)
        if self.spark_tmp is not None:
            _text("spark_tmp", self.spark_tmp)
        if self.spark_tmp is not None and self.engine != "spark":
            raise OptionsError("spark_tmp applies only with --engine spark (engine='spark').", "spark_tmp")
        if self.formula is not None:
            self._check_formula()

    @cached_property
    def parsed_formula(self) -> Formula | None:
        """The formula parsed and checked (:func:`~tiktok_claims.model.formula.parse_formula`), or ``None``."""
        return None if self.formula is None else parse_formula(self.formula)

    def _check_formula(self) -> None:
        outcome = self.parsed_formula.outcome
        if outcome != self.target:
            raise OptionsError(
                f"target {self.target!r} is not the formula's outcome {outcome!r}; give one of the two, or make them agree.",
                "target",
            )
        if self.transform != "none":
            raise OptionsError(
                f"transform {self.transform!r} applies to the default model; in a formula write np.log1p(column) for "
                "each count to enter as log(1 + count).",
                "transform",
            )
        if self.engine != "local":
            raise OptionsError(f"engine {self.engine!r} fits the default model only; a formula is fitted in-process "
                               "(engine='local').", "engine")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The names of the options, in order.

        Returns
        -------
        tuple of str
            Every field's name, as :func:`tiktok_claims.analyze` takes it as a keyword.
        """
        return tuple(f.name for f in fields(cls))


def _choice(name: str, value, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionsError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}.", name)


def _whole(name: str, value, bounds: tuple[int, int | None]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        within = f"at least {low}" if high is None else f"from {low} to {high:,}"
        raise OptionsError(f"{name} must be a whole number {within}; got {value!r}.", name)


def _text(name: str, value) -> None:
    if not isinstance(value, str):
        raise OptionsError(f"{name} must be text (a str); got {type(value).__name__} {value!r}.", name)


def _example_rule(value) -> str:
    """The rule a user most likely meant by ``value``: itself when it names a rule."""
    return value if value in config.THRESHOLD_RULES else config.DEFAULT_THRESHOLD_RULE
