"""Risk: fake orders (刷单) and other abuse."""

from .fake_orders import FakeOrderRisk

__all__ = ["FakeOrderRisk"]
