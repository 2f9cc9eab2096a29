"""The log1p remedy: log(1 + x) of chosen count columns, then standardize (a scikit-learn estimator)."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import StandardScaler


def log1p_values(values: np.ndarray, names) -> np.ndarray:
    """log(1 + x) of the count columns ``values`` (2-D, named ``names``), refusing negative counts.

    Missing values (NaN) stay missing.
    """
    values = np.asarray(values, dtype=float)
    negative = np.sum(values < 0, axis=0)
    if negative.any():
        j = int(np.flatnonzero(negative)[0])
        raise ValueError(
            f"log1p is taken of counts, which are never negative; {list(names)[j]!r} holds {negative[j]} negative "
            f"value(s) (smallest {np.nanmin(values[:, j]):g}). Reject or correct those rows first."
        )
    return np.log1p(values)


class Log1pStandardScaler(StandardScaler):
    """Standardize every column, after replacing the columns named in ``log1p`` by log(1 + x).

    With ``log1p=()`` it is exactly :class:`~sklearn.preprocessing.StandardScaler`.
    ``mean_``, ``var_`` and ``scale_`` are those of the values as transformed, so a
    model reads ``(log1p(x) - mean_) / scale_`` for a transformed column. Feature names
    out are the input column names.

    Parameters
    ----------
    log1p : tuple of str
        Columns (of the DataFrame it is fitted on) entered as log(1 + x); they must
        hold no negative values.
    copy, with_mean, with_std : bool
        As for ``StandardScaler``.

    Attributes
    ----------
    log1p_mask_ : ndarray of bool
        Which of the ``n_features_in_`` columns are transformed.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"views": [0.0, 1.0, 3.0], "seconds": [10.0, 20.0, 30.0]})
    >>> scaler = Log1pStandardScaler(log1p=("views",)).fit(frame)
    >>> scaler.mean_.round(4).tolist()
    [0.6931, 20.0]
    """

    _parameter_constraints: dict = {**StandardScaler._parameter_constraints, "log1p": [tuple, list]}

    def __init__(self, log1p=(), *, copy=True, with_mean=True, with_std=True):
        super().__init__(copy=copy, with_mean=with_mean, with_std=with_std)
        self.log1p = log1p

    def partial_fit(self, X, y=None, sample_weight=None):
        if not hasattr(self, "n_samples_seen_"):
            self.log1p_mask_ = self._mask_of(X)
        return super().partial_fit(self._logged(X), y, sample_weight)

    def transform(self, X, copy=None):
        return super().transform(self._logged(X), copy=copy)

    def inverse_transform(self, X, copy=None):
        values = super().inverse_transform(X, copy=copy)
        if self.log1p_mask_.any():
            values[:, self.log1p_mask_] = np.expm1(values[:, self.log1p_mask_])
        return values

    def _mask_of(self, X) -> np.ndarray:
        names = getattr(X, "columns", None)
        if not self.log1p:
            return np.zeros(np.shape(X)[1], dtype=bool)
        if names is None:
            raise ValueError(
                f"Log1pStandardScaler(log1p={tuple(self.log1p)!r}) names the columns to transform, so it must be "
                "fitted on a DataFrame; got data without column names."
            )
        names = [str(name) for name in names]
        unknown = [name for name in self.log1p if name not in names]
        if unknown:
            raise ValueError(f"log1p names column(s) {unknown!r} that the data lack; the columns are {names!r}.")
        return np.isin(names, list(self.log1p))

    def _logged(self, X):
        """``X`` with log(1 + x) in the masked columns (a copy); names kept for sklearn's check."""
        mask = self.log1p_mask_
        if not mask.any() or np.shape(X)[1] != mask.size:
            return X  # nothing to transform, or a wrong width that StandardScaler reports
        if hasattr(X, "columns"):
            X = X.astype(float)
            columns = X.columns[mask]
            X[columns] = log1p_values(X[columns].to_numpy(), [str(c) for c in columns])
            return X
        # An array can only reach here after fitting on a DataFrame (see _mask_of).
        X = np.array(X, dtype=float)
        X[:, mask] = log1p_values(X[:, mask], list(self.feature_names_in_[mask]))
        return X
