"""Customer service: intent, answers grounded in the merchant's knowledge base, hand-off, redaction."""

from .agent import HANDOFF_INTENTS, Answer, ServiceAgent, detect_dispute, detect_injection
from .intent import IntentClassifier, evaluate_bitext
from .redact import redact

__all__ = ["ServiceAgent", "Answer", "HANDOFF_INTENTS", "detect_injection", "detect_dispute", "IntentClassifier",
           "evaluate_bitext", "redact"]
