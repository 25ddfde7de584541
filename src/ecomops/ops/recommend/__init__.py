"""Recommendation: which business buyer will order which product."""

from .propensity import PurchasePropensity

__all__ = ["PurchasePropensity"]
