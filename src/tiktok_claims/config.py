"""Column names, categories and defaults. Standard library only; no I/O on import."""

from __future__ import annotations

from typing import Literal, get_args

ID_COLUMN = "#"
CLAIM = "claim_status"
VIDEO_ID = "video_id"
DURATION = "video_duration_sec"
TRANSCRIPT = "video_transcription_text"
VERIFIED = "verified_status"
BAN = "author_ban_status"
VIEWS = "video_view_count"
LIKES = "video_like_count"
SHARES = "video_share_count"
DOWNLOADS = "video_download_count"
COMMENTS = "video_comment_count"

COUNT_COLUMNS: tuple[str, ...] = (VIEWS, LIKES, SHARES, DOWNLOADS, COMMENTS)
CONTINUOUS_COLUMNS: tuple[str, ...] = (DURATION, *COUNT_COLUMNS)

COLUMNS: tuple[str, ...] = (
    ID_COLUMN,
    CLAIM,
    VIDEO_ID,
    DURATION,
    TRANSCRIPT,
    VERIFIED,
    BAN,
    *COUNT_COLUMNS,
)

CATEGORIES: dict[str, tuple[str, ...]] = {
    CLAIM: ("claim", "opinion"),
    VERIFIED: ("not verified", "verified"),
    BAN: ("active", "under review", "banned"),
}

# The level coded 1 for each binary outcome (the "positive" class of reports).
POSITIVE_CLASS: dict[str, str] = {VERIFIED: "verified", CLAIM: "claim"}

# Header spellings seen in the wild that mean one of our columns.
COLUMN_ALIASES: dict[str, str] = {"id": ID_COLUMN}

DEFAULT_TARGET = VERIFIED
DEFAULT_SEED = 42
TEST_SIZE = 0.25

# The options with a fixed set of values, each a Literal type (exported by the package for
# type checkers) and the tuple of its values (for validation and the command line's help).
Outcome = Literal[
    "claim_status", "video_duration_sec", "verified_status", "author_ban_status",
    "video_view_count", "video_like_count", "video_share_count", "video_download_count", "video_comment_count",
]
"""A column that can be the outcome of an analysis: any column but the identifiers and the transcript."""
OUTCOMES: tuple[str, ...] = get_args(Outcome)
Balance = Literal["class-weights", "upsample", "smote", "none"]
"""How a binary classifier handles class imbalance (resampling the training part only)."""
BALANCE_OPTIONS: tuple[str, ...] = get_args(Balance)
DEFAULT_BALANCE = "class-weights"
ThresholdRuleName = Literal["f1", "recall", "cost"]
"""How the decision threshold is chosen on training scores: best F1, a target recall, or least cost."""
THRESHOLD_RULES: tuple[str, ...] = get_args(ThresholdRuleName)
DEFAULT_THRESHOLD_RULE = "f1"
DEFAULT_TARGET_RECALL = 0.8
Transform = Literal["none", "log1p"]
"""How the continuous predictors enter the model: as they are, or the engagement counts as
log(1 + count) (the remedy for log-odds that bend with a heavy-tailed count)."""
TRANSFORMS: tuple[str, ...] = get_args(Transform)
Engine = Literal["local", "spark"]
"""Where the binary model is fitted: in-process only, or also on Apache Spark."""
ENGINES: tuple[str, ...] = get_args(Engine)
CV_FOLDS = 5
CV_REPEATS = 1
BOOTSTRAP_RESAMPLES = 1000
# Bootstrap refits of the inference model that measure how stable each finding is.
STABILITY_REFITS = 200

# Multicollinearity rule for continuous predictors (see model/features.py).
VIF_LIMIT = 5.0
CORRELATION_REPORT_LIMIT = 0.7

# Leakage guard: a continuous predictor this rank-correlated with a numeric target is
# treated as a version of the target (see model.features.leakage_guard).
LEAKAGE_RANK_CORRELATION = 0.9

# Predictors that are consequences of an outcome: a video is viewed before it is liked,
# shared, downloaded or commented on, so these counts follow views and cannot explain them.
CONSEQUENCES: dict[str, tuple[str, ...]] = {VIEWS: (LIKES, SHARES, DOWNLOADS, COMMENTS)}

# IQR outlier fences: Q1 - k*IQR and Q3 + k*IQR.
IQR_MULTIPLIER = 1.5

# Version of the metrics.json layout; `report --from` refuses records of another layout.
# 2: outcome_type holds the outcome kind's identifier (binary, ordinal, nominal, count,
# continuous), with outcome_label and family beside it. 3: the story holds the summary's
# chart (story.chart) and its method in plain words (story.method); the chart is a figure.
# 4: the story says what qualifies the rates and the estimates (story.rates_note: how few test
# positives the rates rest on, or null; story.caveats: e.g. too few events per effect).
METRICS_SCHEMA = 4

SYNTHETIC_DEFAULT_ROWS = 19_382
MAX_REPORTED_LINES = 5
