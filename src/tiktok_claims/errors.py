"""Domain errors. The CLI maps each to ``Error: ...`` on stderr and exit code 1."""

from __future__ import annotations


class TiktokClaimsError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(TiktokClaimsError, ValueError):
    """An input file is unreadable or does not match the expected schema."""


class ModelFileError(TiktokClaimsError, ValueError):
    """A model artifact is not one this tool wrote, was altered, or does not fit."""


class OptionsError(TiktokClaimsError, ValueError):
    """An argument or option of the analysis is outside its allowed values.

    A ``ValueError``, as scikit-learn's parameter errors are: ``except ValueError``
    catches every bad argument of :func:`tiktok_claims.analyze`.

    Parameters
    ----------
    message : str
        What was expected, what was received and how to fix it.
    option : str, optional
        The name of the option (``"balance"``, ``"target"``, ...), which the command
        line turns into the flag it names (``--balance``).
    """

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


class AnalysisError(TiktokClaimsError, RuntimeError):
    """The analysis cannot proceed honestly (e.g. a fit did not converge)."""


class OutputError(TiktokClaimsError, OSError):
    """An output folder cannot be written as a whole (a file in the way, no permission, another run in it)."""
