"""Scoring a backlog: every row scored or rejected with its reason, in process or on Spark."""
