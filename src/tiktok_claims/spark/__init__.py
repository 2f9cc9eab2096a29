"""The distributed engine: Spark sessions and files, and the same fit on Spark (optional: ``pip install .[spark]``)."""
