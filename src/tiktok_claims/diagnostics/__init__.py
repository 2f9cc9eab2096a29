"""Assumption checks of every model family, each a :class:`~tiktok_claims.diagnostics.check.Check`."""
