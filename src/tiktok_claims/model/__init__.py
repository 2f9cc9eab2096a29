"""Fitting, and nothing else: predictors, transforms, separation, Firth, the logistic and other families."""
