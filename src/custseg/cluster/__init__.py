"""Clustering of customers into value-ordered, named segments."""

from ._segmenter import CustomerSegmenter

__all__ = [
    "CustomerSegmenter",
]
