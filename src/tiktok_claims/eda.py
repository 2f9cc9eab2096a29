"""Exploratory summaries as tidy DataFrames: no plots, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import config


@dataclass(frozen=True)
class EdaResult:
    """Every exploratory summary of one dataset, computed once."""

    overview: pd.DataFrame
    describe: pd.DataFrame
    duplicates: pd.DataFrame
    repeated_transcripts: pd.DataFrame
    class_balance: pd.DataFrame
    outliers: pd.DataFrame
    pearson: pd.DataFrame
    spearman: pd.DataFrame
    text_length: pd.DataFrame
    by_category: pd.DataFrame
    n_rows: int
    n_columns: int


def explore(all_rows: pd.DataFrame, frame: pd.DataFrame, target: str) -> EdaResult:
    """Summarise ``all_rows`` (every row read) and ``frame`` (the rows used).

    Missing values and types are described on every row read; the rest on the rows
    the model uses.
    """
    return EdaResult(
        overview=overview(all_rows),
        describe=describe(frame),
        duplicates=duplicates(frame),
        repeated_transcripts=repeated_transcripts(frame),
        class_balance=class_balance(frame, target),
        outliers=iqr_outliers(frame),
        pearson=frame[list(config.CONTINUOUS_COLUMNS)].corr(method="pearson"),
        spearman=frame[list(config.CONTINUOUS_COLUMNS)].corr(method="spearman"),
        text_length=text_length_by_class(frame, target),
        by_category=target_by_category(frame, target),
        n_rows=len(all_rows),
        n_columns=all_rows.shape[1],
    )


def overview(all_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per column: type, missing values and distinct values."""
    missing = all_rows.isna().sum()
    return pd.DataFrame(
        {
            "column": all_rows.columns,
            "dtype": [str(t) for t in all_rows.dtypes],
            "non_missing": all_rows.notna().sum().to_numpy(),
            "missing": missing.to_numpy(),
            "missing_share": (missing / max(len(all_rows), 1)).to_numpy(),
            "distinct": all_rows.nunique().to_numpy(),
        }
    )


def describe(frame: pd.DataFrame) -> pd.DataFrame:
    """Descriptive statistics of the continuous columns, one row per column."""
    table = frame[list(config.CONTINUOUS_COLUMNS)].describe().T
    table["skew"] = frame[list(config.CONTINUOUS_COLUMNS)].skew()
    return table.rename_axis("column").reset_index()


def duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts of duplicated rows, video ids and transcripts (beyond the first)."""
    content = frame.drop(columns=[config.ID_COLUMN])
    return pd.DataFrame(
        {
            "check": ["duplicate rows (ignoring #)", "duplicate video_id", "identical transcripts"],
            "count": [
                int(content.duplicated().sum()),
                int(frame[config.VIDEO_ID].duplicated().sum()),
                int(frame[config.TRANSCRIPT].duplicated().sum()),
            ],
        }
    )


def repeated_transcripts(frame: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The most repeated transcripts and how often each occurs (independence check)."""
    counts = frame[config.TRANSCRIPT].value_counts()
    counts = counts[counts > 1].head(top)
    return pd.DataFrame({"transcript": counts.index.astype(str), "count": counts.to_numpy()})


def target_groups(frame: pd.DataFrame, target: str) -> pd.Series:
    """The level of a categorical ``target``, or the quartile group of a numeric one.

    A numeric outcome (a count, the duration) is described by its quartiles, labelled
    with their ranges (``Q1: 0–4,942``), so per-class summaries read the same way for
    every target.
    """
    if target in config.CATEGORIES:
        return frame[target]
    values = frame[target]
    edges = np.unique(np.quantile(values.to_numpy(dtype=float), [0, 0.25, 0.5, 0.75, 1.0]))
    codes = np.clip(np.searchsorted(edges, values.to_numpy(dtype=float), side="right") - 1, 0, len(edges) - 2)
    labels = [f"Q{i + 1}: {edges[i]:,.0f}–{edges[i + 1]:,.0f}" for i in range(len(edges) - 1)]
    return pd.Series(pd.Categorical.from_codes(codes, categories=labels, ordered=True), index=frame.index, name=target)


def class_balance(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Count and share of each level of ``target`` (of each quartile group when numeric)."""
    levels = config.CATEGORIES.get(target)
    groups = target_groups(frame, target)
    counts = groups.value_counts(sort=False)
    if levels is not None:
        counts = counts.reindex(levels, fill_value=0)
    return pd.DataFrame(
        {"level": counts.index.astype(str), "count": counts.to_numpy(), "share": (counts / counts.sum()).to_numpy()}
    )


def iqr_fences(values: pd.Series, k: float = config.IQR_MULTIPLIER) -> tuple[float, float, float, float]:
    """Return ``(q1, q3, lower fence, upper fence)`` of Tukey's rule."""
    q1, q3 = np.percentile(values.to_numpy(dtype=float), [25, 75])
    iqr = q3 - q1
    return float(q1), float(q3), float(q1 - k * iqr), float(q3 + k * iqr)


def iqr_outliers(frame: pd.DataFrame) -> pd.DataFrame:
    """Tukey fences and the number of rows beyond them, per continuous column.

    Outliers are reported, not removed: large counts are real viral videos.
    """
    rows = []
    for column in config.CONTINUOUS_COLUMNS:
        values = frame[column]
        q1, q3, lower, upper = iqr_fences(values)
        above = int((values > upper).sum())
        below = int((values < lower).sum())
        rows.append(
            {
                "column": column,
                "q1": q1,
                "q3": q3,
                "iqr": q3 - q1,
                "lower_fence": lower,
                "upper_fence": upper,
                "n_below": below,
                "n_above": above,
                "share_outside": (above + below) / len(values),
            }
        )
    return pd.DataFrame(rows)


def text_length_by_class(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Transcript length in characters, summarised per level (or quartile group) of ``target``."""
    lengths = frame[config.TRANSCRIPT].str.len()
    table = lengths.groupby(target_groups(frame, target), observed=True).agg(["count", "mean", "median", "std", "min", "max"])
    return table.rename_axis("level").reset_index()


def target_by_category(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Share of each target level within each level of the other categorical columns,
    with the median of each engagement count (a plain-language view of the data)."""
    rows = []
    for column, levels in config.CATEGORIES.items():
        if column == target:
            continue
        for level in levels:
            part = frame[frame[column] == level]
            if part.empty:
                continue
            row = {"column": column, "level": level, "videos": len(part)}
            for target_level in config.CATEGORIES.get(target, ()):
                row[f"share_{target_level}"] = float((part[target] == target_level).mean())
            if target not in config.CATEGORIES:
                row[f"mean_{target}"] = float(part[target].mean())
            row.update({f"median_{c}": float(part[c].median()) for c in config.COUNT_COLUMNS})
            rows.append(row)
    return pd.DataFrame(rows)
