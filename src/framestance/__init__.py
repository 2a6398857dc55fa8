"""framestance: labelled news corpora for research on media framing and stance."""

__version__ = "0.1.0"
