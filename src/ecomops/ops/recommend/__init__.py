"""Recommendation: which business buyer will order which product."""

from .propensity import PurchasePropensity
from .recommend import recommend

__all__ = ["PurchasePropensity", "recommend"]
