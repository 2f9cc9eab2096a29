"""Results -> matplotlib Figures. No file paths; callers render and close the figures.

Colours come from the Okabe-Ito palette (safe for colour-blind readers) and every
distinction drawn in colour is also drawn by line style, hatch or a text label.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure as MplFigure

from .. import config

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
LINESTYLES = ("-", "--", ":", "-.")
HATCHES = ("", "//", "..", "xx")
DISPLAY_DPI = 110
"""Resolution of a figure shown in a notebook (as the reports' figure files)."""


def warm() -> None:
    """Read matplotlib's fonts and load its PNG writer: the first figure a process draws would, at its cost."""
    figure = MplFigure(figsize=(1, 1))
    figure.text(0.5, 0.5, "0")
    figure.savefig(io.BytesIO(), format="png")


@dataclass(frozen=True)
class Figure:
    """A figure with the name of its file, its title and its alternative text."""

    name: str
    title: str
    alt: str
    figure: object

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        """Shown by IPython as the chart (PNG), with its alternative text as the plain-text form
        and its title in the PNG's metadata (the caption of the notebook's HTML page).

        A notebook cell that ends with a figure shows the chart whatever matplotlib's backend
        (the package's figures are not pyplot figures, so the inline backend never sees them).
        """
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=DISPLAY_DPI)
        return {"image/png": buffer.getvalue(), "text/plain": self.alt}, {"image/png": {"title": self.title}}


def _new(width: float = 6.4, height: float = 4.0, margins: tuple[float, float, float, float] | None = None,
         *, wspace: float = 0.28, hspace: float = 0.5, **kwargs):
    """A figure and its axes.

    ``margins`` (left, bottom, right, top, in inches) fix the space around the axes:
    a layout engine measures every label in an extra pass, which costs as much as the
    drawing itself, so figures whose labels are known in advance give their margins.
    Without them the constrained layout fits labels whose size depends on the data.
    """
    if margins is None:
        fig = MplFigure(figsize=(width, height), layout="constrained")
        return fig, fig.subplots(**kwargs)
    left, bottom, right, top = margins
    fig = MplFigure(figsize=(width, height))
    fig.subplots_adjust(
        left=left / width, bottom=bottom / height, right=1 - right / width, top=1 - top / height,
        wspace=wspace, hspace=hspace,
    )
    # Titles at the top of their axes: nothing is drawn above them, so matplotlib's
    # search for labels in the way (a measure of every tick label) is skipped.
    with rc_context({"axes.titley": 1.0}):
        return fig, fig.subplots(**kwargs)


def count_distributions(frame: pd.DataFrame, target: str) -> Figure:
    """Histograms of duration and each count per target level; counts on a log1p axis."""
    fig, axes = _new(9.6, 5.6, (0.65, 0.5, 0.2, 0.65), nrows=2, ncols=3)
    levels = [lvl for lvl in config.CATEGORIES.get(target, sorted(frame[target].unique())) if lvl in set(frame[target])]
    for ax, column in zip(axes.flat, config.CONTINUOUS_COLUMNS):
        heavy = column in config.COUNT_COLUMNS
        values = np.log10(frame[column] + 1) if heavy else frame[column]
        bins = np.histogram_bin_edges(values, bins=30) if heavy else _whole_number_bins(values)
        for i, level in enumerate(levels):
            ax.hist(
                values[frame[target] == level], bins=bins, density=True, histtype="step",
                linewidth=1.6, linestyle=LINESTYLES[i % 4], color=OKABE_ITO[i], label=str(level),
            )
        ax.set_title(column.replace("video_", "").replace("_", " "), fontsize=9)
        ax.set_xlabel("log10(count + 1)" if heavy else "seconds", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.locator_params(axis="y", nbins=4)  # each tick costs as much to draw as a histogram
    axes.flat[0].legend(fontsize=7, title=target, title_fontsize=7)
    fig.suptitle("Distributions of duration and engagement counts", fontsize=10)
    return Figure(
        "distributions",
        "Distributions of duration and engagement counts",
        f"Six density histograms, one per continuous column, with one outlined histogram per "
        f"{target} level (solid and dashed lines). Counts are shown as log10(count + 1) because "
        "they are heavy-tailed.",
        fig,
    )


def _whole_number_bins(values: pd.Series, most: int = 30) -> np.ndarray:
    """Bins that each hold the same number of whole values (no half-empty edge bins)."""
    low, high = int(np.floor(values.min())), int(np.ceil(values.max()))
    span = high - low + 1
    count = max(d for d in range(1, most + 1) if span % d == 0)
    return np.linspace(low - 0.5, high + 0.5, count + 1)


def correlation_heatmap(corr: pd.DataFrame, method: str = "Pearson") -> Figure:
    """Annotated correlation matrix."""
    fig, ax = _new(6.4, 5.2, (0.85, 0.75, 0.1, 0.3))
    names = [c.replace("video_", "").replace("_count", "").replace("_sec", "") for c in corr.columns]
    image = ax.imshow(corr.to_numpy(), cmap="cividis", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for (i, j), value in np.ndenumerate(corr.to_numpy()):
        # A column that never varies has no correlation: its cells are blank, labelled n/a.
        ax.text(j, i, "n/a" if np.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=8,
                color="black" if value > 0.5 else "white" if not np.isnan(value) else "dimgray")
    fig.colorbar(image, ax=ax, shrink=0.8, label=f"{method} r")
    ax.set_title(f"{method} correlations of continuous predictors", fontsize=10)
    pairs = corr.where(~np.eye(len(corr), dtype=bool)).abs().stack().dropna()
    constant = [c for c in corr.columns if np.isnan(corr.loc[c, c])]  # a column's own r is 1 unless it is constant
    if pairs.empty:
        strongest = "no pair can be compared: at most one column varies"
    else:
        top = pairs.idxmax()
        strongest = f"the strongest pair is {top[0]} and {top[1]} (r = {corr.loc[top[0], top[1]]:.2f})"
    if constant:
        strongest += f"; {', '.join(constant)} {'is' if len(constant) == 1 else 'are'} constant (n/a: no correlation)"
    return Figure(
        f"correlation_{method.lower()}",
        f"{method} correlation matrix",
        f"Heatmap of {method} correlations among duration and the five engagement counts, each "
        f"cell labelled with its value; {strongest}.",
        fig,
    )


def class_balance(balance: pd.DataFrame, target: str) -> Figure:
    """Bar chart of the target's levels with counts and shares written on the bars."""
    fig, ax = _new(5.0, 3.4, (0.85, 0.4, 0.15, 0.3))
    bars = ax.bar(balance["level"], balance["count"], color=OKABE_ITO[: len(balance)], edgecolor="black")
    for bar, hatch in zip(bars, HATCHES):
        bar.set_hatch(hatch)
    for bar, (count, share) in zip(bars, balance[["count", "share"]].itertuples(index=False)):
        ax.annotate(f"{count:,} ({share:.1%})", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("videos")
    ax.set_ylim(0, balance["count"].max() * 1.12)
    ax.set_title(f"Class balance of {target}", fontsize=10)
    description = "; ".join(f"{r.level}: {r.count:,} ({r.share:.1%})" for r in balance.itertuples())
    return Figure("class_balance", f"Class balance of {target}", f"Bar chart of {target}. {description}.", fig)


def text_length_by_class(frame: pd.DataFrame, target: str) -> Figure:
    """Box plots of transcript length (characters) per target level."""
    fig, ax = _new(5.0, 3.4, (0.8, 0.4, 0.15, 0.3))
    levels = [lvl for lvl in config.CATEGORIES.get(target, sorted(frame[target].unique())) if lvl in set(frame[target])]
    lengths = frame[config.TRANSCRIPT].str.len()
    data = [lengths[frame[target] == level].to_numpy() for level in levels]
    ax.boxplot(data, tick_labels=levels, showfliers=False)
    ax.set_ylabel("transcript length (characters)")
    ax.set_title(f"Transcript length by {target}", fontsize=10)
    medians = "; ".join(f"{lvl}: median {np.median(d):.0f}" for lvl, d in zip(levels, data))
    return Figure("text_length", f"Transcript length by {target}",
                  f"Box plots of transcript length in characters per {target} level ({medians}).", fig)


def confusion_matrix(confusion: pd.DataFrame, labels: tuple[str, str]) -> Figure:
    """Confusion matrix with counts written in every cell and labelled axes."""
    fig, ax = _new(4.6, 3.8, (1.15, 0.6, 0.15, 0.3))
    values = confusion.to_numpy()
    ax.imshow(values, cmap="Blues")
    ax.set_xticks([0, 1], list(labels), fontsize=9)
    ax.set_yticks([0, 1], list(labels), fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:,}", ha="center", va="center", fontsize=11,
                color="white" if v > values.max() / 2 else "black")
    ax.set_title("Confusion matrix (test part)", fontsize=10)
    cells = "; ".join(f"{r} / {c}: {confusion.loc[r, c]:,}" for r in confusion.index for c in confusion.columns)
    return Figure("confusion_matrix", "Confusion matrix (test part)", f"Confusion matrix on the test part: {cells}.", fig)


def roc_curve(roc: pd.DataFrame, auc: float) -> Figure:
    """ROC curve against the chance diagonal."""
    fig, ax = _new(4.6, 4.0, (0.7, 0.55, 0.15, 0.3))
    ax.plot(roc["fpr"], roc["tpr"], color=OKABE_ITO[0], linewidth=2, label=f"model (ROC-AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color=OKABE_ITO[7], linestyle="--", linewidth=1, label="chance (0.500)")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("ROC curve (test part)", fontsize=10)
    return Figure("roc_curve", "ROC curve (test part)",
                  f"ROC curve of the model on the test part, ROC-AUC {auc:.3f}, above the dashed chance diagonal.", fig)


def precision_recall_curve(pr: pd.DataFrame, average_precision: float, base_rate: float) -> Figure:
    """Precision-recall curve with the base rate (a random classifier's precision)."""
    fig, ax = _new(4.6, 4.0, (0.7, 0.55, 0.15, 0.3))
    ax.plot(pr["recall"], pr["precision"], color=OKABE_ITO[0], linewidth=2,
            label=f"model (average precision {average_precision:.3f})")
    ax.axhline(base_rate, color=OKABE_ITO[7], linestyle="--", linewidth=1, label=f"base rate ({base_rate:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Precision-recall curve (test part)", fontsize=10)
    return Figure("precision_recall_curve", "Precision-recall curve (test part)",
                  f"Precision against recall on the test part; average precision {average_precision:.3f} "
                  f"against a base rate of {base_rate:.3f} (dashed line).", fig)


def reliability_curve(curve: pd.DataFrame, summary: dict) -> Figure:
    """Observed rate against mean predicted score per bin, with the diagonal of perfect calibration."""
    fig, ax = _new(4.6, 4.0, (0.7, 0.55, 0.15, 0.3))
    ax.plot([0, 1], [0, 1], color=OKABE_ITO[7], linestyle="--", linewidth=1, label="perfect calibration")
    slope = "unbounded" if summary["slope"] is None else f"{summary['slope']:.2f}"  # None: the scores separate the classes
    ax.plot(curve["mean_predicted"], curve["observed"], color=OKABE_ITO[5], marker="o", linewidth=1.6,
            label=f"model (slope {slope}, intercept {summary['intercept']:.2f})")
    ax.set_xlabel("mean predicted score (decile bins)")
    ax.set_ylabel("observed share positive")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Reliability (calibration) curve, test part", fontsize=10)
    return Figure(
        "calibration_curve",
        "Reliability curve (test part)",
        f"Observed share of positives against the mean predicted score in ten bins of the test part; "
        f"Brier score {summary['brier']:.3f}, calibration slope {slope}"
        f"{' (the scores separate the classes of the test part)' if summary['slope'] is None else ''} and intercept "
        f"{summary['intercept']:.2f} (ideal 1 and 0). Points below the dashed diagonal mean the "
        "scores overstate the probability.",
        fig,
    )


def empirical_logits(table: pd.DataFrame) -> Figure:
    """Binned empirical log-odds (points) against the fitted model's log-odds (line), per predictor."""
    predictors = list(dict.fromkeys(table["predictor"]))
    columns = min(3, len(predictors))
    rows = -(-len(predictors) // columns)
    fig, axes = _new(3.2 * columns, 2.6 * rows, (0.7, 0.45, 0.2, 0.35), nrows=rows, ncols=columns, squeeze=False)
    for ax, predictor in zip(axes.flat, predictors):
        part = table[table["predictor"] == predictor]
        ax.plot(part["x_mean"], part["logit"], "o", color=OKABE_ITO[0], label="empirical (binned)")
        ax.plot(part["x_mean"], part["model_logit"], linestyle="--", color=OKABE_ITO[5], label="model")
        ax.set_title(predictor.replace("video_", "").replace("_", " "), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.locator_params(axis="y", nbins=4)
        if predictor != config.DURATION:
            ax.set_xscale("symlog")
            ax.xaxis.set_major_formatter(_power_of_ten_label)
    for ax in list(axes.flat)[len(predictors):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.supylabel("log-odds", fontsize=9)
    return Figure(
        "empirical_logits",
        "Linearity of the log-odds",
        "For each continuous predictor, binned empirical log-odds of the positive class (circles) against "
        "the fitted model's mean log-odds in the same bins (dashed line); points scattered around the "
        "line support a linear log-odds.",
        fig,
    )


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten_label(value: float, _position=None) -> str:
    """10³ for 1000, in plain text: matplotlib's default log labels are typeset as maths,
    which costs more than the rest of the figure's text."""
    exponent = np.log10(abs(value)) if value else np.nan
    if not np.isfinite(exponent) or exponent != round(exponent):
        return f"{value:g}"
    return ("−" if value < 0 else "") + "10" + str(int(exponent)).translate(_SUPERSCRIPTS)


def influence(table: pd.DataFrame, threshold: float) -> Figure:
    """Cook's distance of every row the inference model was fitted on, with the 4/n threshold."""
    fig, ax = _new(6.4, 3.2, (0.85, 0.55, 0.35, 0.3))
    ax.plot(np.arange(len(table)), table["cooks_d"].to_numpy(), linestyle="none", marker=".", markersize=2,
            color=OKABE_ITO[0])
    ax.axhline(threshold, color=OKABE_ITO[5], linestyle="--", linewidth=1, label=f"4/n = {threshold:.2g}")
    ax.set_xlim(0, len(table))
    ax.set_xlabel("row (every used row)")
    ax.set_ylabel("Cook's distance")
    ax.legend(fontsize=8)
    ax.set_title("Influential observations", fontsize=10)
    above = int((table["cooks_d"] > threshold).sum())
    return Figure("influence", "Cook's distance per row",
                  f"Cook's distance of each of the {len(table):,} rows the inference model was fitted on; {above:,} lie above the dashed "
                  f"4/n threshold ({threshold:.2g}); the largest is {table['cooks_d'].max():.3g}.", fig)


# ---------------------------------------------------------------- other model families


def ordinal_confusion(table: pd.DataFrame, levels: list[str]) -> Figure:
    """Observed by predicted level of an ordinal outcome, counts in every cell."""
    fig, ax = _new(5.2, 4.2)
    values = table.set_index("observed").loc[levels, levels].to_numpy()
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(levels)), levels, fontsize=9)
    ax.set_yticks(range(len(levels)), levels, fontsize=9)
    ax.set_xlabel("predicted (most likely level)")
    ax.set_ylabel("observed")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:,}", ha="center", va="center", fontsize=11, color="white" if v > values.max() / 2 else "black")
    ax.set_title("Observed and predicted levels (test part)", fontsize=10)
    cells = "; ".join(f"{levels[i]} predicted {levels[j]}: {v:,}" for (i, j), v in np.ndenumerate(values))
    return Figure("confusion_matrix", "Observed and predicted levels (test part)",
                  f"Table of observed against predicted levels on the test part: {cells}.", fig)


def severity_scores(predictions: pd.DataFrame, levels: list[str]) -> Figure:
    """Box plots of the predicted probability of a status above the lowest, per observed level."""
    fig, ax = _new(5.2, 3.6)
    above = 1 - predictions[f"p_{levels[0]}"]
    data = [above[predictions["observed"] == level].to_numpy() for level in levels]
    ax.boxplot(data, tick_labels=levels, showfliers=False)
    ax.set_xlabel("observed level (test part)")
    ax.set_ylabel(f"predicted P(not {levels[0]})")
    ax.set_title("Predicted severity by observed level", fontsize=10)
    medians = "; ".join(f"{lvl}: median {np.median(d):.3f}" for lvl, d in zip(levels, data) if len(d))
    return Figure("severity_scores", "Predicted severity by observed level",
                  f"Box plots of the predicted probability of a status other than '{levels[0]}', per observed "
                  f"level of the test part ({medians}); boxes that rise from left to right mean the model "
                  "orders the levels.", fig)


def observed_vs_predicted(table: pd.DataFrame, target: str, log_scale: bool) -> Figure:
    """Mean observed against mean predicted outcome per decile of the prediction (test part)."""
    fig, ax = _new(4.8, 4.2)
    low = min(table["mean_predicted"].min(), table["mean_observed"].min())
    high = max(table["mean_predicted"].max(), table["mean_observed"].max())
    ax.plot([low, high], [low, high], color=OKABE_ITO[7], linestyle="--", linewidth=1, label="observed = predicted")
    ax.plot(table["mean_predicted"], table["mean_observed"], marker="o", color=OKABE_ITO[0], linewidth=1.6,
            label="deciles of the prediction")
    if log_scale:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"mean predicted {target}")
    ax.set_ylabel(f"mean observed {target}")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Observed against predicted (test part)", fontsize=10)
    worst = table.assign(ratio=table["mean_observed"] / table["mean_predicted"]).iloc[
        int(np.argmax(np.abs(np.log(table["mean_observed"] / table["mean_predicted"]))))
    ]
    return Figure("observed_vs_predicted", "Observed against predicted (test part)",
                  f"Mean observed {target} against the mean prediction in ten groups of the test part ordered by "
                  f"prediction{' (log axes)' if log_scale else ''}; points on the dashed diagonal mean the "
                  f"predictions are right on average. The largest gap is in group {int(worst['group'])}: "
                  f"observed {worst['mean_observed']:,.4g} against predicted {worst['mean_predicted']:,.4g}.", fig)


def residuals_vs_fitted(predictions: pd.DataFrame, target: str) -> Figure:
    """Residuals against predictions on the test part (linearity and constant variance)."""
    fig, ax = _new(5.6, 3.6)
    residual = predictions["observed"] - predictions["predicted"]
    ax.plot(predictions["predicted"], residual, linestyle="none", marker=".", markersize=2, color=OKABE_ITO[0])
    ax.axhline(0, color=OKABE_ITO[5], linestyle="--", linewidth=1)
    ax.set_xlabel(f"predicted {target}")
    ax.set_ylabel("residual (observed - predicted)")
    ax.set_title("Residuals against predictions (test part)", fontsize=10)
    return Figure("residuals", "Residuals against predictions (test part)",
                  f"Residuals of {len(predictions):,} test rows against their predictions; a band of even width "
                  f"around the dashed zero line supports linearity and constant variance (residual SD "
                  f"{residual.std():,.3g}).", fig)


# ---------------------------------------------------------------- the executive summary's chart


def verdict_chart(chart: dict) -> Figure:
    """Horizontal bars split into parts, one bar per row: its label on the left above it, the amount of
    each part in a legend on the right.

    ``chart`` is the chart a story computed (``metrics.json``: ``story.chart``): its
    ``bars`` each carry a ``label`` and ``segments`` (``label``, ``value``, ``text``, the
    amount as printed); every bar is drawn on one scale, ``scale`` wide (or as wide as the
    longest bar). Parts are told apart by colour and by hatch.
    """
    bars = chart["bars"]
    scale = chart["scale"] or max(sum(s["value"] for s in bar["segments"]) for bar in bars)
    fig, axes = _new(7.0, 0.46 * len(bars) + 0.08, nrows=len(bars), ncols=1, squeeze=False)
    for ax, bar in zip(axes.flat, bars):
        left = 0.0
        for index, segment in enumerate(bar["segments"]):
            ax.barh(
                0, segment["value"], left=left, height=1.0, color=OKABE_ITO[index], hatch=HATCHES[index],
                edgecolor="black", linewidth=0.6, label=f"{segment['text']} {segment['label']}",
            )
            left += segment["value"]
        ax.set_xlim(0, scale)
        ax.set_ylim(-0.5, 0.5)
        ax.set_axis_off()
        ax.set_title(bar["label"], fontsize=9, loc="left", pad=3)
        ax.legend(
            loc="lower right", bbox_to_anchor=(1, 1), ncols=len(bar["segments"]), fontsize=8.5, frameon=False,
            handlelength=1.6, handleheight=0.9, borderaxespad=0.1, borderpad=0, columnspacing=1.4,
        )
    return Figure(chart["name"], chart["title"], chart["alt"], fig)
