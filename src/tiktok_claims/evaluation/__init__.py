"""How well the models predict: test metrics, thresholds, cross-validation, the leakage audit."""
