"""The fitted model as a file: plain JSON (never a pickle), checksummed, with its model card."""
