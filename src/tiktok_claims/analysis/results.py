"""What every results object offers besides its fields: a text summary, its display in a
notebook, and writing the files of ``run``.

Everything here reads the computed results; nothing refits. Each analysis kind
(:class:`~tiktok_claims.analysis.binary.Analysis`,
:class:`~tiktok_claims.analysis.families.FamilyAnalysis`) states its own parts: the facts of
its model, its headline test metric and its test tables.
"""

from __future__ import annotations

import html
import math
import numbers
import textwrap
import warnings
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ..approach import OutcomeKind
from ..timing import Progress
from .records import ReadsOptions

__all__ = ["Results"]  # what the API reference documents; the helpers serve the analysis kinds

SUMMARY_WIDTH = 78
LABEL_WIDTH = 24
METRIC_LABELS = {"roc_auc": "ROC AUC", "d2_poisson_deviance": "deviance explained (D²)", "r2": "R²"}
"""How the headline metrics read in a table (the others read as their names)."""


class Results(ReadsOptions):
    """The base of every analysis kind's results object.

    A subclass defines ``_model_facts`` (label and value pairs that describe its fit),
    ``key_metric`` (its headline test metric), ``_effect`` (the column of its effects
    and their name) and ``_test_sections`` (its test results as text blocks).
    """

    @property
    def key_metric(self) -> tuple[str, float]:
        """The headline test metric, ``(name, value)``: what :meth:`__repr__` shows."""
        raise NotImplementedError

    def _model_facts(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def _effect(self) -> tuple[str, str]:
        raise NotImplementedError

    def _test_sections(self) -> list[list[str | Wrapped]]:
        raise NotImplementedError

    # ---------------------------------------------------------------- display

    def __repr__(self) -> str:
        name, value = self.key_metric
        return (
            f"{type(self).__name__}(target={self.target!r}, family={self.approach.label!r}, "
            f"rows_used={self.dataset.rows_used}, test_{name}={number_text(value, 3)})"
        )

    def _repr_html_(self) -> str:
        """A compact HTML table for notebooks: the headline facts and the coefficients (every text escaped)."""
        name, value = self.key_metric
        facts = [*self._headline_facts(), (f"Test {METRIC_LABELS.get(name, name)}", number_text(value, 3))]
        rows = "".join(
            f'<tr><th scope="row" style="text-align:left">{html.escape(label)}</th>'
            f'<td style="text-align:left">{html.escape(text)}</td></tr>'
            for label, text in facts
        )
        effect_column, effect_name = self._effect()
        header = ["term", "coef", "std err", f"P>|{self._statistic}|", "95% CI", effect_name]
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in (
                _term(row),
                number_text(row["coef"]),
                number_text(row["se"]),
                p_text(row["p_value"]),
                f"[{number_text(row['ci_low'])}, {number_text(row['ci_high'])}]",
                number_text(row[effect_column]),
            )) + "</tr>"
            for row in _rows(self.coefficients)
        )
        return (
            '<div class="tiktok-claims-results">'
            f"<table><caption>{html.escape(self._title())}</caption><tbody>{rows}</tbody></table>"
            "<table><caption>Coefficients (fit on every used row)</caption><thead><tr>"
            + "".join(f'<th scope="col">{html.escape(cell)}</th>' for cell in header)
            + f"</tr></thead><tbody>{body}</tbody></table>"
            "<p>Call <code>.summary()</code> for every result as text, <code>.write(folder)</code> for the reports.</p>"
            "</div>"
        )

    def summary(self) -> str:
        """The results as text, like statsmodels' ``summary()``: built from what was computed, never refitted.

        Returns
        -------
        str
            The outcome and its model family, the rows read, used and set aside (with the
            reasons), the split, the fit, the coefficient table (estimate, standard error,
            z, p-value, 95% interval and effect per readable unit) and the test results
            of this kind of analysis (for a binary outcome: the test metrics with their
            bootstrap intervals, and the decision threshold).

        Examples
        --------
        >>> print(analyze(seed=1).summary())  # doctest: +SKIP
        """
        blocks = [self._facts_block(), self._coefficients_block(), *self._test_sections()]
        width = max(SUMMARY_WIDTH, *(len(line) for block in blocks for line in block if isinstance(line, str)))
        lines = [self._title().center(width).rstrip(), "=" * width]
        for number, block in enumerate(blocks):
            if number:
                lines.append("-" * width)
            for line in block:
                lines.extend(line.lines(width) if isinstance(line, Wrapped) else [line])
        lines.append("=" * width)
        return "\n".join(lines)

    def write(self, out_dir: str | Path, *, notebook: bool = False, progress: Progress | None = None) -> dict[str, Path]:
        """Write every file the ``run`` command writes into ``out_dir``, as ``run`` writes them.

        The reports (HTML, Markdown, PDF), ``metrics.json``, the CSV tables, the figures and
        the model (``model.json`` and its card) are rendered from these results (nothing is
        refitted) into a private folder inside ``out_dir`` and moved into place whole: the
        folder then holds this analysis's files and no earlier run's, or, on any error, is
        left as it was.

        Parameters
        ----------
        out_dir : str or Path
            The output folder, existing or new. A file in it of a name ``run`` writes that
            no tiktok-claims run wrote (a user's own ``report.html``) is refused.
        notebook : bool, optional
            Also write ``notebook.ipynb``, the course notebook executed against these results'
            data file and options (every output and chart inline), and ``notebook.html``. The
            kernel re-runs the analysis, which about doubles the time. Needs the ``notebook``
            extra (``pip install 'tiktok-claims[notebook]'``); without it, or for an outcome or
            data the notebook cannot re-run, everything else is written and a ``UserWarning``
            says why.
        progress : callable, optional
            Called with a short description as each stage starts.

        Returns
        -------
        dict of str to Path
            Every file written, by its path relative to ``out_dir`` (e.g. ``report.html``,
            ``figures/roc_curve.png``).

        Raises
        ------
        OutputError
            If ``out_dir`` is a file, cannot be written, holds files no tiktok-claims run
            wrote, or another command is writing into it.

        Examples
        --------
        >>> written = analyze(seed=1).write("out")  # doctest: +SKIP
        >>> written["report.html"]  # doctest: +SKIP
        PosixPath('out/report.html')
        """
        # The one upward import of the analysis layer, deferred to the call: writing needs the
        # renderers and the artifact store, which read results objects (tests/test_layout.py).
        from ..outputs import write_run

        notes: list[str] = []
        written = write_run(self, out_dir, progress=progress, notebook=notebook, notes=notes)
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=2)
        return written

    # ---------------------------------------------------------------- parts

    def _title(self) -> str:
        return f"{self.approach.label[:1].upper()}{self.approach.label[1:]} of {self.target}"

    def _headline_facts(self) -> list[tuple[str, str]]:
        dataset = self.dataset
        return [
            ("Outcome", self.target + (f" (positive class {self.approach.positive_class!r})" if self._binary else "")),
            ("Model family", self.approach.label),
            (
                "Rows",
                f"{dataset.rows_used:,} used of {dataset.rows_read:,} read "
                f"({dataset.rows_read - dataset.rows_used:,} set aside)",
            ),
        ]

    @property
    def _binary(self) -> bool:
        return self.approach.kind is OutcomeKind.BINARY

    def _facts_block(self) -> list[str | Wrapped]:
        dataset, split = self.dataset, self.split
        facts = self._headline_facts()
        facts.insert(2, ("Data", dataset.source + (" (SYNTHETIC)" if dataset.synthetic else "")))
        facts += [("  set aside", f"{n:,} {reason}") for reason, n in dataset.rows_set_aside.items()]
        stratified = f"stratified on {split_on}" if (split_on := self.approach.stratify_on) else "random"
        facts.append((
            "Split",
            f"{len(split.train):,} training / {len(split.test):,} test rows ({stratified}, seed {self.seed})",
        ))
        facts += self._model_facts()
        return [_fact(label, text) for label, text in facts]

    def _coefficients_block(self) -> list[str | Wrapped]:
        effect_column, effect_name = self._effect()
        return [
            *prose("Coefficients: the fit on every used row, each per the unit shown, with 95% intervals."),
            *coefficient_table(self.coefficients, effect_column, effect_name, self._statistic),
        ]

    _statistic = "z"
    """The name of the coefficients' test statistic (``t`` for least squares)."""


def coefficient_table(frame: pd.DataFrame, effect_column: str, effect_name: str, statistic: str = "z") -> list[str]:
    """The lines of a coefficient table: term, estimate, standard error, z, p, interval and effect."""
    header = ["", "coef", "std err", statistic, f"P>|{statistic}|", "[0.025", "0.975]", effect_name]
    body = [
        [
            _term(row),
            number_text(row["coef"]),
            number_text(row["se"]),
            number_text(row["z"], 3),
            p_text(row["p_value"]),
            number_text(row["ci_low"]),
            number_text(row["ci_high"]),
            number_text(row[effect_column]),
        ]
        for row in _rows(frame)
    ]
    return text_table(header, body)


def text_table(header: list[str], body: list[list[str]]) -> list[str]:
    """Lines of a plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in (header, *body)) for i in range(len(header))]

    def line(cells) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(rest, widths[1:]))]).rstrip()

    return [line(header), *(line(row) for row in body)]


def _rows(frame: pd.DataFrame) -> list[dict]:
    return frame.to_dict(orient="records")


def _term(row: dict) -> str:
    """A coefficient's name and the unit it is per (``video_view_count (per 100,000 views)``)."""
    unit = row.get("unit")
    if row["name"] == "const" or not isinstance(unit, str) or not unit:
        return str(row["name"])
    return f"{row['name']} ({unit})"


class Wrapped(NamedTuple):
    """Text that the summary wraps to its width (that of its widest table)."""

    text: str
    first: str = ""
    rest: str = "  "

    def lines(self, width: int) -> list[str]:
        return textwrap.wrap(
            self.text, width, initial_indent=self.first, subsequent_indent=self.rest, break_on_hyphens=False
        ) or [self.first.rstrip()]


def _fact(label: str, text: str) -> Wrapped:
    """A labelled fact, its value wrapped in a column of its own."""
    start = f"{label}: " if len(label) + 2 > LABEL_WIDTH else f"{label}:".ljust(LABEL_WIDTH)
    return Wrapped(text, start, " " * LABEL_WIDTH)


def prose(text: str) -> list[Wrapped]:
    """A sentence of the summary (a list, to be spliced into a block)."""
    return [Wrapped(text)]


def number_text(value, digits: int = 4) -> str:
    """A number for a text table: fixed digits, scientific notation when very large or small."""
    if value is None:
        return "n/a"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return f"{value:,}"
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value != 0 and not 1e-4 <= abs(value) < 1e6:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


def p_text(p) -> str:
    """A p-value for a text table: three decimals, or ``<0.001``."""
    if p is None or math.isnan(float(p)):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
