"""Stage 1: scraped pages and crawler records -> one Arrow table of clean articles.

readers (one per input kind) -> `core.normalise_batch` (pure, parallel) -> dedup -> writers.
"""

from .core import NORMALISER_VERSION, Params, normalise_batch
from .pipeline import BadParams, OutputExists, Summary, normalise

__all__ = ["NORMALISER_VERSION", "Params", "normalise_batch", "normalise", "OutputExists", "BadParams", "Summary"]
