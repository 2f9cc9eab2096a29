"""Model formulas in the conventional syntax, parsed and checked, never evaluated.

``verified_status ~ claim_status * author_ban_status + np.log1p(video_view_count)``
reads as in statsmodels, R or patsy: ``+`` adds a term, ``a:b`` is the interaction of
``a`` and ``b``, ``a * b`` is ``a + b + a:b``, ``(a + b) ** 2`` every pairwise
interaction and ``- term`` removes one. patsy's parser (``ModelDesc.from_formula``)
splits the text into terms and factors without evaluating anything; each factor's
code is then read as a Python syntax tree (:mod:`ast`, again without evaluating it)
and accepted only if it is one of:

* a column of the schema: a count or the duration enters as it is, a category is
  dummy-coded against its first level (``claim``, ``not verified``, ``active``);
* ``C(column)`` of a category (the same coding, written explicitly);
* ``np.log1p(column)`` or ``np.log(column)`` of a count or the duration;
* ``I(column ** 2)`` of a count or the duration (a curvature term).

Anything else (another function, an attribute, a literal, a column that identifies a
row or holds text, the outcome itself) is refused with an
:class:`~tiktok_claims.errors.OptionsError` naming the factor and what is allowed. A
formula read back from a model file is held to the same rules, so a model file (whose
checksum anyone can recompute) can never make this package run code.

The design is built here from the parsed factors, by numpy, not by evaluating the
factors' code: patsy only decides which columns the terms need (its coding of
interactions, the same as statsmodels' ``smf.logit``), from the formula and the
categories' levels alone (:func:`design_columns`). So the design can be rebuilt at
scoring time from the model file's formula, with the columns named as statsmodels
names them (:attr:`DesignColumn.statsmodels_name`).

Column names follow the package's convention: a continuous term is named after its
column whatever its transform (``video_view_count`` for ``np.log1p(video_view_count)``,
as with ``--transform log1p``), a dummy ``column_level``, a curvature term
``column^2``, and an interaction joins its parts' names with ``:``. So each column
enters a formula in one form (it may add ``I(column ** 2)``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from patsy import ModelDesc, PatsyError, Term, design_matrix_builders
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .. import config
from ..data.schema import SPEC_BY_NAME
from ..errors import AnalysisError, OptionsError

MAX_FORMULA_LENGTH = 2_000
SQUARE_SUFFIX = "^2"
# How a numeric part enters the design: the function applied to the column's values.
FORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda x: x,
    "log1p": np.log1p,
    "log": np.log,
    "square": np.square,
}
NUMERIC_KINDS = ("count", "duration")
ALLOWED = (
    "a column name (a count, the duration or a category), C(category), np.log1p(column) or np.log(column) of a "
    "count or the duration, or I(column ** 2); joined by +, : (interaction) and * (both and their interaction)"
)
# Columns that identify a row or hold free text: never predictors.
NON_PREDICTORS = (config.ID_COLUMN, config.VIDEO_ID, config.TRANSCRIPT)


@dataclass(frozen=True)
class Factor:
    """One factor of a term: a column and the form it enters in.

    ``code`` is the factor as patsy normalizes it (``np.log1p(video_view_count)``), which
    names it in statsmodels' column names; ``form`` is ``"none"``, ``"log1p"``, ``"log"``,
    ``"square"`` or ``"category"``.
    """

    code: str
    column: str
    form: str


@dataclass(frozen=True)
class Part:
    """One factor's contribution to a design column: a numeric value, or the indicator of a level."""

    column: str
    form: str
    level: str | None = None

    @property
    def name(self) -> str:
        if self.form == "category":
            return f"{self.column}_{self.level}"
        if self.form == "square":
            return f"{self.column}{SQUARE_SUFFIX}"
        return self.column


@dataclass(frozen=True)
class DesignColumn:
    """A column of the design: the product of its parts."""

    name: str
    statsmodels_name: str
    parts: tuple[Part, ...]

    @property
    def numeric(self) -> bool:
        """Whether a numeric value enters it (then it is standardized); else it is an indicator (0/1)."""
        return any(part.form != "category" for part in self.parts)

    @property
    def main_effect(self) -> bool:
        """A column as the default model has them: one continuous predictor (any transform but a square) or one dummy."""
        return len(self.parts) == 1 and self.parts[0].form != "square"

    def record(self) -> dict:
        """The column as plain JSON: its names and its parts."""
        return {
            "name": self.name,
            "statsmodels_name": self.statsmodels_name,
            "parts": [
                {"input": p.column, "level": p.level} if p.form == "category" else {"input": p.column, "transform": p.form}
                for p in self.parts
            ],
        }


@dataclass(frozen=True)
class Formula:
    """A parsed, checked formula.

    Attributes
    ----------
    text : str
        The formula as written.
    outcome : str
        The binary outcome on its left-hand side.
    terms : tuple of tuple of Factor
        The right-hand side's terms but the intercept, in patsy's order.
    """

    text: str
    outcome: str
    terms: tuple[tuple[Factor, ...], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the formula reads, in order of first appearance."""
        return tuple(dict.fromkeys(factor.column for term in self.terms for factor in term))

    @property
    def expanded(self) -> str:
        """The formula with every term spelled out (``a * b`` as ``a + b + a:b``)."""
        terms = " + ".join(":".join(f.code for f in term) for term in self.terms)
        return f"{self.outcome} ~ {terms}"


def parse_formula(text) -> Formula:
    """Parse and check a formula; refuse anything but the allowed factors.

    Parameters
    ----------
    text : str
        ``outcome ~ terms``, e.g. ``"verified_status ~ claim_status * author_ban_status"``.

    Returns
    -------
    Formula

    Raises
    ------
    OptionsError
        If the text is not a formula, its outcome is not a binary outcome, a factor is
        not one of the allowed forms, a column enters in two forms, the intercept is
        removed or a predictor is a consequence of the outcome.

    Examples
    --------
    >>> parse_formula("verified_status ~ claim_status + np.log1p(video_view_count)").columns
    ('claim_status', 'video_view_count')
    >>> parse_formula("verified_status ~ __import__('os')")
    Traceback (most recent call last):
    ...
    tiktok_claims.errors.OptionsError: formula factor "__import__('os')" is not allowed: ...
    """
    if not isinstance(text, str):
        raise OptionsError(f"formula must be text (a str); got {type(text).__name__} {text!r}.", "formula")
    if len(text) > MAX_FORMULA_LENGTH:
        raise OptionsError(f"formula is {len(text):,} characters long; at most {MAX_FORMULA_LENGTH:,} are read.", "formula")
    try:
        description = ModelDesc.from_formula(text)
    except PatsyError as exc:
        raise OptionsError(f"formula {text!r} cannot be read: {exc.message}. Write 'outcome ~ term + term', e.g. "
                           f"'verified_status ~ claim_status * author_ban_status'.", "formula") from None
    outcome = _outcome(text, description.lhs_termlist)
    if Term([]) not in description.rhs_termlist:
        raise OptionsError(f"formula {text!r} removes the intercept; the model keeps one (drop '- 1' or '+ 0').", "formula")
    terms = tuple(
        tuple(_factor(factor.code, outcome) for factor in term.factors)
        for term in description.rhs_termlist
        if term.factors
    )
    if not terms:
        raise OptionsError(f"formula {text!r} has no predictor; name at least one after '~'.", "formula")
    formula = Formula(text=text.strip(), outcome=outcome, terms=terms)
    _check_forms(formula)
    return formula


def _outcome(text: str, lhs: list) -> str:
    if not lhs:
        raise OptionsError(f"formula {text!r} has no outcome; write it before '~', e.g. 'verified_status ~ ...'.", "formula")
    codes = [factor.code for term in lhs for factor in term.factors]
    if len(lhs) != 1 or len(codes) != 1 or not isinstance(_tree(codes[0]), ast.Name):
        raise OptionsError(f"formula {text!r}: the left-hand side must be one outcome column; got {' + '.join(codes) or '1'!r}.", "formula")
    outcome = codes[0]
    if outcome not in config.COLUMNS or outcome in NON_PREDICTORS:
        raise OptionsError(f"formula {text!r}: {outcome!r} is not an outcome column; expected one of {', '.join(config.OUTCOMES)}.", "formula")
    return outcome


def _factor(code: str, outcome: str) -> Factor:
    """The factor ``code`` means, if it is one of the allowed forms; else an :class:`OptionsError`."""
    tree = _tree(code)
    match tree:
        case ast.Name(id=column):
            form = None
        case ast.Call(func=ast.Name(id="C"), args=[ast.Name(id=column)], keywords=[]):
            form = "category"
        case ast.Call(func=ast.Attribute(value=ast.Name(id="np"), attr="log1p" | "log" as form), args=[ast.Name(id=column)], keywords=[]):
            pass
        case ast.Call(
            func=ast.Name(id="I"),
            args=[ast.BinOp(left=ast.Name(id=column), op=ast.Pow(), right=ast.Constant(value=2))],
            keywords=[],
        ):
            form = "square"
        case _:
            raise _refusal(code, "it is not one of the allowed forms")
    kind = _kind(code, column, outcome)
    if form is None:
        form = "category" if kind == "category" else "none"
    elif (form == "category") != (kind == "category"):
        wanted = "a category" if form == "category" else "a count or the duration"
        raise _refusal(code, f"{column!r} is a {kind} column; {code.split('(')[0]}() applies to {wanted}")
    return Factor(code=code, column=column, form=form)


def _kind(code: str, column: str, outcome: str) -> str:
    if column == outcome:
        raise _refusal(code, f"{column!r} is the outcome; it cannot also be a predictor")
    if column in NON_PREDICTORS:
        raise _refusal(code, f"{column!r} identifies a row or holds free text, so it is not a predictor")
    if column not in SPEC_BY_NAME:
        predictors = [c for c in config.COLUMNS if c not in NON_PREDICTORS and c != outcome]
        raise _refusal(code, f"{column!r} is not a column of the data; the predictors are {', '.join(predictors)}")
    kind = SPEC_BY_NAME[column].kind
    return kind if kind == "category" else "numeric"


def _tree(code: str) -> ast.AST:
    try:
        return ast.parse(code, mode="eval").body
    except SyntaxError:
        raise _refusal(code, "it is not an expression") from None


def _refusal(code: str, why: str) -> OptionsError:
    return OptionsError(f"formula factor {code!r} is not allowed: {why}. Allowed: {ALLOWED}.", "formula")


def _check_forms(formula: Formula) -> None:
    """One form per column (a square besides), predictors that can explain the outcome, a binary outcome."""
    codes: dict[str, set[str]] = {}
    for term in formula.terms:
        for factor in term:
            if factor.form != "square":
                codes.setdefault(factor.column, set()).add(factor.code)
    for column, seen in codes.items():
        if len(seen) > 1:
            raise OptionsError(
                f"formula {formula.text!r}: {column!r} enters in two forms ({', '.join(sorted(seen))}); a column enters "
                "in one form throughout the formula (a count or the duration may add I(column ** 2)).",
                "formula",
            )
    consequences = [c for c in config.CONSEQUENCES.get(formula.outcome, ()) if c in formula.columns]
    if consequences:
        raise OptionsError(
            f"formula {formula.text!r}: {', '.join(consequences)} "
            f"{'is a consequence' if len(consequences) == 1 else 'are consequences'} of the outcome "
            f"({formula.outcome} comes first: engagement happens after a view), so "
            f"{'it' if len(consequences) == 1 else 'they'} cannot explain it; remove "
            f"{'it' if len(consequences) == 1 else 'them'} from the formula.",
            "formula",
        )
    if formula.outcome not in config.POSITIVE_CLASS:
        raise OptionsError(
            f"formula {formula.text!r}: formulas fit logistic regressions of a binary outcome "
            f"({', '.join(config.POSITIVE_CLASS)}); {formula.outcome!r} is analysed with its own model family. "
            "Drop the formula to analyse it.",
            "formula",
        )


# -------------------------------------------------------------------------------- design


class _LevelsFactor:
    """A patsy factor that reports a column's type and levels without reading any data."""

    origin = None

    def __init__(self, factor: Factor):
        self.factor = factor

    def name(self) -> str:
        return self.factor.code

    def __eq__(self, other) -> bool:
        return isinstance(other, _LevelsFactor) and other.factor == self.factor

    def __hash__(self) -> int:
        return hash((_LevelsFactor, self.factor))

    def memorize_passes_needed(self, state, eval_env) -> int:
        return 0

    def memorize_chunk(self, state, which_pass, data) -> None:
        pass

    def memorize_finish(self, state, which_pass) -> None:
        pass

    def eval(self, state, data):
        if self.factor.form == "category":
            levels = list(config.CATEGORIES[self.factor.column])
            return pd.Categorical(levels, categories=levels)
        return np.zeros(1)


def design_columns(formula: Formula) -> tuple[DesignColumn, ...]:
    """The design's columns (the intercept aside), in statsmodels' order, from the formula alone.

    patsy codes the terms (which dummies each needs, full rank or not) from the factors'
    types and the categories' levels (``config.CATEGORIES``, the first the reference),
    exactly as ``smf.logit`` does on data that hold every level.
    """
    factors = {factor: _LevelsFactor(factor) for term in formula.terms for factor in term}
    termlist = [Term([]), *(Term([factors[f] for f in term]) for term in formula.terms)]
    info = design_matrix_builders([termlist], lambda: iter([{}]), eval_env=0)[0]
    columns = []
    for term in info.terms:
        for subterm in info.term_codings[term]:
            options = [_parts_of(f.factor, subterm.contrast_matrices.get(f)) for f in subterm.factors]
            for combination in _combinations([len(o) for o in options]):
                parts = tuple(options[i][j] for i, j in enumerate(combination))
                if parts:
                    columns.append(parts)
    names = info.column_names[1:]
    if len(names) != len(columns):
        raise RuntimeError(f"the formula's design has {len(names)} columns by patsy and {len(columns)} by its parts; this is a bug.")
    return tuple(DesignColumn(":".join(p.name for p in parts), name, parts) for parts, name in zip(columns, names))


def _parts_of(factor: Factor, contrast) -> list[Part]:
    """The parts one factor contributes: its value, or one indicator per column of its contrast (treatment coding)."""
    if factor.form != "category":
        return [Part(factor.column, factor.form)]
    levels = config.CATEGORIES[factor.column]
    parts = []
    for column in np.asarray(contrast.matrix).T:
        ones = np.flatnonzero(column == 1)
        if len(ones) != 1 or np.count_nonzero(column) != 1:
            raise RuntimeError(f"the coding of {factor.code} is not an indicator of one level; this is a bug.")
        parts.append(Part(factor.column, "category", levels[int(ones[0])]))
    return parts


def _combinations(sizes: list[int]):
    """Every choice of one part per factor, the left-most varying fastest (patsy's and R's column order)."""
    if not sizes:
        yield ()
        return
    for rest in _combinations(sizes[1:]):
        for first in range(sizes[0]):
            yield (first, *rest)


def evaluate_design(design, number: Callable[[str], np.ndarray], indicator: Callable[[str, str], np.ndarray], rows: int) -> np.ndarray:
    """The design's values (``rows`` × columns): each column the product of its parts.

    ``number(column)`` gives a column's values as floats, ``indicator(column, level)``
    whether each row holds that level. Values outside a transform's domain (log of 0)
    come out as they do in numpy (``-inf``), without a warning: callers check the
    domain first (:func:`undefined_rows`).
    """
    values = np.ones((rows, len(design)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j, column in enumerate(design):
            for part in column.parts:
                if part.form == "category":
                    values[:, j] *= indicator(part.column, part.level)
                else:
                    values[:, j] *= FORMS[part.form](number(part.column))
    return values


def undefined_rows(formula: Formula, number: Callable[[str], np.ndarray]) -> dict[str, np.ndarray]:
    """For each ``np.log(column)`` of the formula, the rows where the column is not positive (log undefined)."""
    logged = dict.fromkeys(f.column for term in formula.terms for f in term if f.form == "log")
    return {column: ~(number(column) > 0) for column in logged}


class FormulaDesign(TransformerMixin, BaseEstimator):
    """The formula's design from a DataFrame of its columns; numeric design columns standardized.

    Indicator columns (dummies and their interactions) stay 0/1, as the default model's
    dummies do; every column with a numeric part is centred and scaled by its (population)
    standard deviation on the rows it is fitted on, which changes no slope of a model
    with an intercept (only the intercept, then the log-odds at the means).

    Parameters
    ----------
    formula : Formula

    Attributes
    ----------
    design_ : tuple of DesignColumn
    mean_, scale_ : ndarray
        Per design column (0 and 1 for the indicator columns).
    """

    def __init__(self, formula: Formula | None = None):
        self.formula = formula

    def fit(self, X: pd.DataFrame, y=None):
        self.design_ = design_columns(self.formula)
        values = self._values(X)
        numeric = np.array([column.numeric for column in self.design_], dtype=bool)
        self.mean_ = np.where(numeric, values.mean(axis=0), 0.0)
        scale = values.std(axis=0)
        self.scale_ = np.where(numeric & (scale > 0), scale, 1.0)
        self.n_features_in_ = len(self.formula.columns)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "design_")
        return (self._values(X) - self.mean_) / self.scale_

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "design_")
        return np.array([column.name for column in self.design_], dtype=object)

    def _values(self, X: pd.DataFrame) -> np.ndarray:
        absent = [c for c in self.formula.columns if c not in getattr(X, "columns", ())]
        if absent:
            raise ValueError(f"FormulaDesign needs a DataFrame with the formula's columns; {absent!r} are absent.")

        def number(column: str) -> np.ndarray:
            return X[column].to_numpy(dtype=float)

        for column, bad in undefined_rows(self.formula, number).items():
            if bad.any():
                raise AnalysisError(
                    f"np.log({column}) is undefined for {int(bad.sum()):,} row(s) where {column} is 0 (first: row "
                    f"{X.index[bad][0]}); write np.log1p({column}) (log of 1 + the count) instead."
                )
        return evaluate_design(
            self.design_, number, lambda column, level: X[column].to_numpy() == level, len(X)
        )
