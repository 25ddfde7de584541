"""Fixtures for the customer-service tests: a fresh store, a tiny deterministic encoder, toy data."""

from __future__ import annotations


import pytest

from ecomops.knowledge import KnowledgeBase
from ecomops.knowledge.loaders import Document
from ecomops.ops.service import IntentClassifier, ServiceAgent


TOY_INTENTS = {
    "return_policy": ["how many days do I have to return an item", "what is your return policy",
                      "can I return this product", "return window for my purchase", "how long can I send it back"],
    "track_order": ["where is my order", "track my package", "when will my parcel arrive",
                    "has my order shipped yet", "tracking number for my delivery"],
    "complaint": ["I want to file a complaint", "your service is terrible", "I am very unhappy with the seller",
                  "this is unacceptable, I want to complain", "worst shopping experience ever"],
    "payment_methods": ["which payment methods do you accept", "can I pay with a credit card",
                        "do you take paypal", "how can I pay for my order", "is cash on delivery possible"],
}


@pytest.fixture
def toy_data():
    texts = [t for ts in TOY_INTENTS.values() for t in ts]
    labels = [k for k, ts in TOY_INTENTS.items() for _ in ts]
    return texts, labels


@pytest.fixture
def trained(toy_data):
    return IntentClassifier(n_bits=14, epochs=30, seed=0).fit(*toy_data)


@pytest.fixture
def make_agent(store, trained):
    """``make_agent(merchant, docs=[(doc_id, title, text), ...], encoder=None)`` -> ServiceAgent."""

    def _make(merchant: str, docs=(), encoder=None, intents=None, **kw):
        kb = KnowledgeBase(store, merchant, encoder=encoder)
        if docs:
            kb.add_documents([Document(d, t, x, kind="policy") for d, t, x in docs])
        return ServiceAgent(store, merchant, kb=kb, intents=intents if intents is not None else trained, **kw)

    return _make


POLICIES_A = [
    ("returns", "Return policy", "Returns are accepted within 30 days of delivery for merchant A customers."),
    ("secret", "Wholesale discount", "Merchant A wholesale code ALPHA-SECRET gives 40 percent off."),
]
POLICIES_B = [
    ("returns-b", "Return policy", "Returns are accepted within 10 days of delivery."),
    ("shipping-b", "Shipping", "Orders ship from Ningbo within 2 business days."),
]


@pytest.fixture
def policies():
    return POLICIES_A, POLICIES_B
