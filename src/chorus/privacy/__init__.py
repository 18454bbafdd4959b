"""Privacy: finding and replacing protected health information in transcripts, reviewed, reversible only with a key.

>>> from chorus.privacy import find, apply            # doctest: +SKIP
"""

from chorus.privacy.deidentify import apply, detect, find, load_model, restore, summary

__all__ = ["apply", "detect", "find", "load_model", "restore", "summary"]
