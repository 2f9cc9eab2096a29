"""A model read back from its artifact: its inputs, its parameters and the scores it computes.

The rules each input row must follow are those of :mod:`tiktok_claims.data.rules`
(:func:`~tiktok_claims.data.rules.check_rows`); :meth:`LoadedModel.probabilities` is the one
implementation of the model's arithmetic, used by :meth:`LoadedModel.predict_proba` (and
:meth:`LoadedModel.predict`, its labels by the threshold) and by both scoring engines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..data.rules import check_rows
from ..data.schema import ColumnSpec
from ..errors import DataError
from ..model.formula import design_columns, evaluate_design, parse_formula, undefined_rows
from .schema import INPUT_TRANSFORMS

REPORTED_BAD_ROWS = 5


class LoadedModel:
    """A model read back from its artifact.

    Attributes
    ----------
    target, positive_class, negative_class : str
        The outcome and its two classes.
    threshold : float
        Scores at or above it are predicted ``positive_class``.
    output_name : {"probability", "score"}
        What the model's output is: probabilities, or scores that only rank (the scored
        file's column is named after it).
    inputs : tuple of ColumnSpec
        Every column the model reads: the identifiers ``#`` and ``video_id``, then
        the predictors, with their kinds and categories.
    predictors : tuple of ColumnSpec
        The inputs without the identifiers.
    formula : Formula or None
        The model formula the model was fitted from (parsed and checked again, never
        evaluated), whose design :meth:`linear_predictor` rebuilds; ``None`` for the
        default model.
    payload : dict
        The artifact's validated content.
    payload_sha256 : str
        Its digest, as recorded in the artifact.
    source : str
        The file it was read from.
    """

    def __init__(self, payload: dict, *, payload_sha256: str, source: str):
        self.payload = payload
        self.payload_sha256 = payload_sha256
        self.source = source
        self.target = payload["target"]
        self.positive_class = payload["positive_class"]
        self.negative_class = payload["negative_class"]
        self.threshold = float(payload["threshold"]["value"])
        # Artifacts written before the output was named served it as "probability".
        self.output_name = payload.get("output", {}).get("name", "probability")
        self.inputs = tuple(
            ColumnSpec(c["name"], c["kind"], tuple(c.get("categories", ()))) for c in payload["inputs"]
        )
        self.predictors = tuple(spec for spec in self.inputs if spec.kind != "identifier")
        self._intercept = float(payload["intercept"])
        self.formula = parse_formula(payload["formula"]["text"]) if "formula" in payload else None
        if self.formula is not None:
            # z = intercept + sum_j coef_j * (d_j - mean_j) / scale_j over the formula's design columns d_j
            # (the product of their parts), 0/1 columns taken as they are (mean 0, scale 1).
            self._design = design_columns(self.formula)
            columns = payload["formula"]["design"]
            self._coef = np.array(payload["coef"], dtype=float)
            self._means = np.array([c.get("mean", 0.0) for c in columns], dtype=float)
            self._scales = np.array([c.get("scale", 1.0) for c in columns], dtype=float)
            self._categories = {spec.name: list(spec.categories) for spec in self.predictors if spec.kind == "category"}
            return
        coef = iter(payload["coef"])
        continuous = [c for c in payload["inputs"] if c["kind"] in ("count", "duration")]
        # z = intercept + sum_j coef_j * (t_j(x_j) - mean_j) / scale_j + coefficient of each row's level,
        # where t_j is the input's transform (log1p) or the identity
        self._slopes = {c["name"]: (next(coef) / c["scale"], c["mean"]) for c in continuous}
        self._transforms = {c["name"]: INPUT_TRANSFORMS[c["transform"]] for c in continuous if "transform" in c}
        self._levels = {
            c["name"]: np.array([0.0, *(next(coef) for _ in c["categories"][1:])])
            for c in payload["inputs"]
            if c["kind"] == "category"
        }

    def __repr__(self) -> str:
        return f"LoadedModel(target={self.target!r}, source={self.source!r})"

    def linear_predictor(self, values: dict[str, np.ndarray]) -> np.ndarray:
        """The log-odds z of each row from checked values (see :func:`tiktok_claims.data.rules.check_rows`).

        The same arithmetic as the fitted pipeline: log(1 + x) of the inputs whose
        ``transform`` is ``log1p``, standardize, dummy-code, then intercept plus the
        coefficients times the encoded values. A formula's model builds its design
        columns (products of their parts) and standardizes those with a numeric part. Meaningful for rows without problems, and
        not finite where an (edited) coefficient makes the arithmetic overflow.

        Parameters
        ----------
        values : dict of str to ndarray
            The checked values of each predictor: numbers, or a category's level index.

        Returns
        -------
        ndarray of float64
            One log-odds per row.
        """
        n = len(next(iter(values.values())))
        if self.formula is not None:
            return self._formula_linear_predictor(values, n)
        logits = np.full(n, self._intercept)
        # Rows with problems may hold NaN, infinities or negative counts: their results are
        # meaningless but must not warn.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for name, (slope, mean) in self._slopes.items():
                x = values[name]
                if name in self._transforms:
                    x = self._transforms[name](x)
                logits += slope * (x - mean)
            for name, table in self._levels.items():
                logits += table.take(values[name], mode="clip")
        return logits

    def _formula_linear_predictor(self, values: dict[str, np.ndarray], n: int) -> np.ndarray:
        design = evaluate_design(
            self._design,
            lambda column: np.asarray(values[column], dtype=float),
            lambda column, level: values[column] == self._categories[column].index(level),
            n,
        )
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._intercept + ((design - self._means) / self._scales) @ self._coef

    def undefined(self, values: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
        """Rows whose checked values lie outside the model's transforms, each set with its reason.

        A formula's ``np.log(column)`` is undefined where the column is 0; the default
        model and ``np.log1p`` accept every valid value.

        Parameters
        ----------
        values : dict of str to ndarray
            The checked values of each predictor, as :meth:`linear_predictor` reads them.

        Returns
        -------
        list of (str, ndarray of bool)
            A reason and the rows it applies to, per transform with a limited domain.
        """
        if self.formula is None:
            return []
        with np.errstate(invalid="ignore"):
            found = undefined_rows(self.formula, lambda column: np.asarray(values[column], dtype=float))
        return [
            (f"{column}: 0 (the model takes np.log({column}), undefined at 0)", rows)
            for column, rows in found.items()
        ]

    @staticmethod
    def logistic(logits: np.ndarray) -> np.ndarray:
        """1 / (1 + exp(-z)); exp(-z) overflows to inf for z < -709, giving probability 0.

        Parameters
        ----------
        logits : ndarray
            Log-odds z.

        Returns
        -------
        ndarray of float64
            The probabilities, in [0, 1].
        """
        with np.errstate(over="ignore", invalid="ignore"):
            return 1.0 / (1.0 + np.exp(-logits))

    def probabilities(self, values: dict[str, np.ndarray]) -> np.ndarray:
        """Scores from checked values: the logistic function of :meth:`linear_predictor`.

        Parameters
        ----------
        values : dict of str to ndarray
            The checked values of each predictor, as :meth:`linear_predictor` reads them.

        Returns
        -------
        ndarray of float64
            One score per row.
        """
        return self.logistic(self.linear_predictor(values))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class for each row of ``frame``.

        Parameters
        ----------
        frame : DataFrame
            At least the predictor columns (extra columns are ignored), as numbers
            or text.

        Returns
        -------
        ndarray of float64
            One probability per row, in row order.

        Raises
        ------
        DataError
            If a predictor column is absent, or a value breaks its rule (missing,
            not a number, negative count, unknown category, ...); the message names
            the first rows and their reasons.
        """
        absent = [spec.name for spec in self.predictors if spec.name not in frame.columns]
        if absent:
            raise DataError(
                f"the data lack the model's column(s) {_names(absent)}; expected {_names(s.name for s in self.predictors)}."
            )
        try:
            table = pa.table({spec.name: pa.Array.from_pandas(frame[spec.name]) for spec in self.predictors})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(f"the data's predictor columns are neither numbers nor text ({exc}).") from None
        checked = check_rows(table, self.predictors)
        if checked.bad.any():
            labels = frame.index[checked.bad]
            shown = [f"row {label!r}: {reason}" for label, reason in list(zip(labels, checked.reasons))[:REPORTED_BAD_ROWS]]
            more = f" and {len(labels) - len(shown)} more" if len(labels) > len(shown) else ""
            raise DataError(
                f"{len(labels)} row(s) do not fit the model's schema ({'; '.join(shown)}{more}); expected "
                + "; ".join(f"{s.name}: {s.expected}" for s in self.predictors)
                + "."
            )
        for reason, rows in self.undefined(checked.values):
            if rows.any():
                raise DataError(
                    f"{int(rows.sum())} row(s) cannot be scored by this model (first: row {frame.index[rows][0]}): {reason}."
                )
        logits = self.linear_predictor(checked.values)
        if not np.isfinite(logits).all():
            labels = frame.index[~np.isfinite(logits)]
            raise DataError(
                f"{len(labels)} row(s) get no finite score from this model (first: row {labels[0]!r}); "
                "its coefficients overflow on these values. Re-create the model with 'run'."
            )
        return self.logistic(logits)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The predicted class of each row of ``frame``, by the model's threshold.

        A row whose score (:meth:`predict_proba`) is at or above :attr:`threshold` is
        predicted ``positive_class``, any other ``negative_class``: the ``predicted_label``
        that ``score`` writes for the same row.

        Parameters
        ----------
        frame : DataFrame
            At least the predictor columns (extra columns are ignored), as numbers
            or text.

        Returns
        -------
        ndarray of str (object dtype)
            One label per row, in row order.

        Raises
        ------
        DataError
            As :meth:`predict_proba`: a predictor column is absent, or a value breaks
            its rule.

        Examples
        --------
        >>> model = load_model("out/model.json")  # doctest: +SKIP
        >>> model.predict(frame)  # doctest: +SKIP
        array(['not verified', 'verified', ...], dtype=object)
        """
        positive = self.is_positive(self.predict_proba(frame))
        return np.where(positive, self.positive_class, self.negative_class).astype(object)

    def is_positive(self, probability: np.ndarray) -> np.ndarray:
        """The label rule, for ``predict`` and ``score`` alike: a probability at or above the threshold is positive.

        Parameters
        ----------
        probability : array-like of float
            Scores of the positive class (:meth:`predict_proba`).

        Returns
        -------
        ndarray of bool
            Whether each row is labelled ``positive_class``.
        """
        return np.asarray(probability) >= self.threshold


def _names(values) -> str:
    return ", ".join(repr(v) for v in values)
