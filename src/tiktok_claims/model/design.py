"""The encoded design, built once in NumPy and read by every fit in row blocks.

:func:`build_design` computes what ``FeatureSpec.preprocessor()`` computes (continuous
predictors entered as themselves or as log(1 + x), then standardized with the mean and
population SD of the rows; categories dummy-coded against their first level), with a
constant first, as ``statsmodels.add_constant`` puts it, in one float64 array: no
pandas or scikit-learn machinery per row, so ten million rows take seconds. float64
throughout: the statsmodels results hold this array as their ``exog``, and the estimates
must equal those of a float64 fit.

A fit on other rows or another standardization reads the same array through a
:class:`DesignRows` view (row positions, and a ``p × p`` map which, through the constant
column, restandardizes the continuous columns): the classifier's design (training rows,
standardized on them) is a view of the inference design (every used row, standardized on
all of them), so the two fits share one array.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import config
from ..errors import AnalysisError
from .features import FeatureSpec
from .transforms import log1p_values

# Rows per block when a fit reads a design: its temporaries stay a few megabytes.
BLOCK_ROWS = 32_768
CONSTANT = "const"


@dataclass(frozen=True)
class Moments:
    """Mean, population variance and scale of the continuous columns, as ``StandardScaler`` fits them.

    ``scale`` is the standard deviation, or 1 for a column that is constant to
    floating-point precision (scikit-learn's rule), so standardizing never divides by zero.
    """

    mean: np.ndarray
    var: np.ndarray
    n: int

    @property
    def scale(self) -> np.ndarray:
        eps = np.finfo(np.float64).eps
        constant = self.var <= self.n * eps * self.var + (self.n * self.mean * eps) ** 2
        return np.where(constant, 1.0, np.sqrt(self.var))


@dataclass(frozen=True)
class DesignRows:
    """Some rows of a design, each read as ``x @ matrix``, in blocks.

    Attributes
    ----------
    values : ndarray of shape (n, p)
        The shared design; never written to.
    names : tuple of str
        Its column names.
    positions : ndarray of int or None
        The rows of ``values`` this view reads, in its order; ``None``: every row, in order.
    matrix : ndarray of shape (p, p) or None
        The linear map applied to every row read (with a constant column it restandardizes
        the others); ``None``: the values as they are.
    """

    values: np.ndarray
    names: tuple[str, ...]
    positions: np.ndarray | None = None
    matrix: np.ndarray | None = None

    @classmethod
    def of(cls, design: pd.DataFrame | np.ndarray) -> DesignRows:
        """Every row of a DataFrame's or array's values, as they are."""
        if isinstance(design, pd.DataFrame):
            return cls(design.to_numpy(dtype=float), tuple(str(c) for c in design.columns))
        values = np.asarray(design, dtype=float)
        return cls(values, tuple(str(j) for j in range(values.shape[1])))

    def __len__(self) -> int:
        return len(self.values) if self.positions is None else len(self.positions)

    @property
    def width(self) -> int:
        return self.values.shape[1]

    def take(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The rows at positions ``rows`` of this view (``None``: all of them), mapped; read it, never write to it."""
        if self.positions is None:
            picked = self.values if rows is None else self.values[rows]
        else:
            picked = self.values[self.positions if rows is None else self.positions[rows]]
        return self.mapped(picked)

    def blocks(self, size: int = BLOCK_ROWS) -> Iterator[tuple[slice, np.ndarray]]:
        """``(rows, block)`` for consecutive blocks of at most ``size`` rows, as stored (not mapped).

        ``rows`` slices this view's positions. A block may be a view of the shared array:
        read it, never write to it.
        """
        for start in range(0, len(self), size):
            rows = slice(start, min(start + size, len(self)))
            if self.positions is None:
                yield rows, self.values[rows]
            else:  # gathered column by column, so the block keeps the design's column-major order
                yield rows, np.take(self.values.T, self.positions[rows], axis=1).T

    def mapped(self, block: np.ndarray) -> np.ndarray:
        """``block @ matrix``: rows as this view reads them."""
        return block if self.matrix is None else block @ self.matrix

    def reordered(self, positions: np.ndarray) -> DesignRows:
        """The same map on other rows of ``values``."""
        return DesignRows(self.values, self.names, positions=positions, matrix=self.matrix)


@dataclass(frozen=True)
class Design:
    """The constant, the standardized continuous predictors and the dummies of every row.

    Attributes
    ----------
    values : ndarray of shape (n, p), float64, column-major (Fortran order)
        Columns ``names``: ``const``, the continuous predictors (standardized on every
        row), the dummies (``{column}_{level}`` for each level after the first).
    names : tuple of str
        The column names, as the preprocessor names them, ``const`` first.
    index : Index
        The frame's row labels.
    continuous : tuple of str
        The continuous predictors (columns 1 to k).
    moments : Moments
        The continuous predictors' standardization: every row.
    part : ndarray of int or None
        Positions of the rows of a second fit (the training part), if asked for.
    part_moments : Moments or None
        The continuous predictors as entered, on ``part``'s rows.
    """

    values: np.ndarray
    names: tuple[str, ...]
    index: pd.Index
    continuous: tuple[str, ...]
    moments: Moments
    part: np.ndarray | None = None
    part_moments: Moments | None = None

    def frame(self) -> pd.DataFrame:
        """The design as a DataFrame over the same memory (the statsmodels ``exog``)."""
        return pd.DataFrame(self.values, index=self.index, columns=list(self.names), copy=False)

    def scales(self) -> pd.Series:
        """The SD (population) of each continuous predictor as entered, on every row."""
        return pd.Series(self.moments.scale, index=list(self.continuous))

    def rows(self) -> DesignRows:
        """Every row, as standardized."""
        return DesignRows(self.values, self.names)

    def part_rows(self) -> DesignRows:
        """The rows of ``part``, in its order, standardized on those rows instead of on every row."""
        if self.part is None or self.part_moments is None:
            raise ValueError("this design was built without a part; pass part= to build_design.")
        # (x - m_all) / s_all read as (x - m_part) / s_part: a multiple of itself plus a
        # multiple of the constant (column 0).
        k = len(self.continuous)
        everything, part = self.moments, self.part_moments
        matrix = np.eye(self.values.shape[1])
        matrix[range(1, k + 1), range(1, k + 1)] = everything.scale / part.scale
        matrix[0, 1 : k + 1] = (everything.mean - part.mean) / part.scale
        return DesignRows(self.values, self.names, positions=self.part, matrix=matrix)


def build_design(frame: pd.DataFrame, spec: FeatureSpec, part: np.ndarray | None = None) -> Design:
    """Encode ``frame``'s predictors as ``spec.preprocessor()`` fitted on ``frame`` would, with a constant.

    Parameters
    ----------
    frame : DataFrame
        The rows to encode, with the columns ``spec.columns``; no missing values.
    spec : FeatureSpec
        The predictors, which continuous ones enter as log(1 + x), the categories.
    part : ndarray of int, optional
        Positions (into ``frame``) of the rows of a second fit; their own moments are
        computed too, for :meth:`Design.part_rows`.

    Returns
    -------
    Design

    Raises
    ------
    AnalysisError
        If a predictor has missing values or a category outside ``config.CATEGORIES``.

    Examples
    --------
    >>> from tiktok_claims.data.synthetic import make_synthetic
    >>> from tiktok_claims.model.features import select_features
    >>> frame = make_synthetic(500, seed=3).dropna()
    >>> design = build_design(frame, select_features(frame, "verified_status"))
    >>> design.names[0], design.values.shape[0] == len(frame)
    ('const', True)
    """
    n, k = len(frame), len(spec.continuous)
    names = (
        CONSTANT,
        *spec.continuous,
        *(f"{column}_{level}" for column in spec.categorical for level in config.CATEGORIES[column][1:]),
    )
    # Column-major: each column is filled, standardized and read whole and in place, and
    # a block of rows is p contiguous runs (what the fits' products read fastest).
    values = np.empty((n, len(names)), dtype=np.float64, order="F")
    values[:, 0] = 1.0
    in_part = None
    if part is not None:
        in_part = np.zeros(n, dtype=bool)
        in_part[part] = True
    everything, of_part = [], []
    scratch = np.empty(n)
    for j, column in enumerate(spec.continuous, start=1):
        entered = values[:, j]
        _enter(frame[column], column in spec.log1p, out=entered)
        mean, var = _mean_and_variance(entered, scratch)
        everything.append((mean, var))
        if in_part is not None:
            of_part.append(_mean_and_variance(entered, scratch, where=in_part))
        np.subtract(entered, mean, out=entered)
        np.divide(entered, Moments(np.array([mean]), np.array([var]), n).scale[0], out=entered)
    j = 1 + k
    for column in spec.categorical:
        codes = category_codes(frame[column], config.CATEGORIES[column])
        for code in range(1, len(config.CATEGORIES[column])):
            np.equal(codes, code, out=values[:, j], casting="unsafe")
            j += 1
    moments = Moments(np.array([m for m, _ in everything]), np.array([v for _, v in everything]), n)
    part_moments = None
    if part is not None:
        part_moments = Moments(np.array([m for m, _ in of_part]), np.array([v for _, v in of_part]), len(part))
    return Design(
        values=values,
        names=names,
        index=frame.index,
        continuous=tuple(spec.continuous),
        moments=moments,
        part=part,
        part_moments=part_moments,
    )


def _enter(series: pd.Series, log1p: bool, out: np.ndarray) -> None:
    """Write one continuous predictor as it enters the model (log(1 + x) with ``log1p``) into ``out``."""
    values = series.to_numpy()
    if values.dtype.kind not in "iuf":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise AnalysisError(
            f"{series.name} has {int(np.sum(~np.isfinite(values))):,} missing or infinite values; the fit needs "
            "complete rows (the loader sets incomplete rows aside)."
        )
    if log1p:
        if np.any(values < 0):
            log1p_values(values[:, None], [series.name])  # refuses them, counting them in its words
        np.log1p(values, out=out)
    else:
        out[:] = values


def category_codes(series: pd.Series, levels: tuple[str, ...]) -> np.ndarray:
    """The position (int8) of each value among ``levels``; refuses values outside them (``AnalysisError``)."""
    codes = np.full(len(series), -1, dtype=np.int8)
    values = series.to_numpy() if series.dtype == object else None
    for code, level in enumerate(levels):
        # NumPy compares an object array several times faster than pandas does; other
        # dtypes (Arrow-backed strings, categoricals) compare fastest in pandas.
        codes[(values == level) if values is not None else (series == level).to_numpy(dtype=bool)] = code
    unknown = codes < 0
    if unknown.any():
        found = sorted({str(v) for v in series[unknown].unique()})
        raise AnalysisError(
            f"{series.name} holds {int(unknown.sum()):,} values outside its categories {list(levels)}: {found[:5]}; "
            "reject or correct those rows before fitting."
        )
    return codes


def _mean_and_variance(values: np.ndarray, scratch: np.ndarray, where: np.ndarray | None = None) -> tuple[float, float]:
    """Mean and population variance by the corrected two-pass algorithm, as ``StandardScaler`` computes them.

    Of the ``values`` where ``where`` is true, if given. ``scratch`` (as long as ``values``)
    holds the deviations, so that no column-long temporary is allocated per call.
    """
    chosen = {} if where is None else {"where": where}
    n = len(values) if where is None else int(np.count_nonzero(where))
    mean = np.sum(values, **chosen) / n
    centred = np.subtract(values, mean, out=scratch)
    correction = np.sum(centred, **chosen)
    np.square(centred, out=centred)
    return float(mean), float((np.sum(centred, **chosen) - correction**2 / n) / n)
