"""ecomops: the intelligence behind B2B e-commerce operations."""

__version__ = "0.1.0"
