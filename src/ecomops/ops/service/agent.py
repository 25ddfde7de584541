"""The customer-service agent of one merchant: intent, grounded answer with citations, hand-off.

``ask(question)``:

1. **Guards.** The merchant comes from the caller (``ServiceAgent(store, merchant_id)``), never
   from the message: retrieval goes through this merchant's :class:`KnowledgeBase` only, so a
   message naming another merchant cannot reach its documents. Instruction-override attempts
   ("ignore previous instructions", "system prompt", "you are now", 忽略以上...) are detected,
   logged, never followed (the model gets the message as data under a system message saying so),
   and the answer is handed to a person.
2. **Intent** by the merchant's online :class:`IntentClassifier` (persisted in the store's
   ``model_state`` table as component ``service_intent``); ``"unknown"`` before any training.
3. **Retrieval** of the top ``k`` current passages, **generation** by the language model
   (default: the offline extractive one), **citations** = the passages the answer cites.
4. **Confidence** (documented formula)::

       coverage   = share of the question's content words (stop words dropped) found in the cited
                    passages (with their titles); 0 without a cited passage
       confidence = coverage                               when no intent model is trained
                  = sqrt(coverage * p_intent)              otherwise (geometric mean)

5. **Escalate** (hand off to a person, ``reason`` says why) when: the message is an injection
   attempt; no passage is found or none is cited; the intent is in :data:`HANDOFF_INTENTS`
   (complaints, asking for a human); the message mentions a dispute (dispute, chargeback, lawyer,
   投诉, 纠纷...); or confidence < ``confidence_threshold``.

Log lines (logger ``ecomops.service``) carry only redacted text (:func:`redact`).

``feedback(question, answer, accepted, corrected_answer=None, corrected_intent=None)``: an accepted
or corrected answer becomes a ``kind="past_answer"`` document (redacted; one ``doc_id`` per
question, so a later correction is a new version), a corrected intent trains the classifier online
(an accepted answer confirms the predicted intent), and the labelled example is appended to the
merchant's training data (component ``service_examples``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ...core.errors import StateError
from ...knowledge import KnowledgeBase
from ...knowledge.loaders import Document
from ...learn.llm.base import Message, grounded_messages, load_llm
from ...learn.llm.extractive import tokens
from .intent import IntentClassifier
from .redact import redact

__all__ = ["ServiceAgent", "Answer", "HANDOFF_INTENTS", "detect_injection", "detect_dispute",
           "INTENT_COMPONENT", "EXAMPLES_COMPONENT"]

log = logging.getLogger("ecomops.service")

INTENT_COMPONENT = "service_intent"
EXAMPLES_COMPONENT = "service_examples"
MAX_EXAMPLES = 20000

HANDOFF_INTENTS = frozenset({"complaint", "contact_human_agent", "refund_dispute", "dispute"})

_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.?!\n]{0,40}\b(?:instructions?|rules?|prompts?|guidelines?|"
    r"directions?|everything|context|above|previous)\b"
    r"|\bsystem\s*prompt\b|\byou\s+are\s+now\b|\bact\s+as\b|\bpretend\s+(?:to\s+be|you)\b|\bnew\s+instructions?\b"
    r"|\bdeveloper\s+mode\b|\bjailbreak\b"
    r"|\b(?:reveal|show|print|repeat)\b[^.?!\n]{0,20}\b(?:your|the)\s+(?:instructions|prompt|rules)\b"
    r"|忽略(?:以上|之前|前面|上述|所有|你的)|无视(?:以上|之前|前面|上述|所有)|忘记(?:以上|之前|所有)"
    r"|系统提示|提示词|你现在是|扮演|新的指令",
    re.IGNORECASE,
)
_DISPUTE = re.compile(
    r"\b(?:disput\w*|chargebacks?|charge\s*back|lawyers?|attorney|legal\s+action|sue|suing|lawsuit|complain\w*|"
    r"fraud)\b|投诉|纠纷|起诉|律师|维权|12315",
    re.IGNORECASE,
)
_STOP = frozenset(
    "a an the is are was were be been am do does did i me my we our you your it its this that these those to of "
    "in on at for from with by and or but if can could would should will shall may might how what when where "
    "which who whom why there here please hi hello thanks thank any some have has had not no yes so as about "
    "into than then them they he she his her us get got want need know tell".split()
) | frozenset("的了吗呢吧啊是我你他她它们在有和与或请问么什怎样多少".replace("", " ").split())


def detect_injection(text: str) -> bool:
    """True when the message tries to change the assistant's instructions."""
    return bool(_INJECTION.search(text or ""))


def detect_dispute(text: str) -> bool:
    """True when the message mentions a dispute, chargeback, lawyer, complaint (投诉, 纠纷...)."""
    return bool(_DISPUTE.search(text or ""))


@dataclass
class Answer:
    answer: str
    citations: list[dict[str, Any]]
    intent: str
    confidence: float
    escalate: bool
    reason: str = ""  # why it escalates ("; "-joined), "" when it does not
    flags: list[str] = field(default_factory=list)  # "prompt_injection", "dispute", ...
    intent_probability: float = 0.0
    coverage: float = 0.0
    latency_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _content(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in _STOP}


class ServiceAgent:
    def __init__(self, store, merchant_id: str, kb: KnowledgeBase | None = None, llm: Any = None,
                 intents: IntentClassifier | None = None, confidence_threshold: float = 0.35, k: int = 3,
                 encoder: Any = "default"):
        if not merchant_id or not str(merchant_id).strip() or merchant_id == "*":
            raise StateError("a service agent serves one merchant: pass its merchant id")
        self.store = store
        self.merchant_id = str(merchant_id).strip()
        if kb is not None and kb.merchant_id != self.merchant_id:
            raise StateError(f"knowledge base of merchant {kb.merchant_id!r} given to merchant {self.merchant_id!r}")
        self.kb = kb if kb is not None else KnowledgeBase(store, self.merchant_id, encoder=encoder)
        self.llm = load_llm(llm) if llm is None or isinstance(llm, str) else llm
        self.intents = intents if intents is not None else self.load_intents()
        self.confidence_threshold = float(confidence_threshold)
        self.k = int(k)

    # -- persistence of the intent model -------------------------------------------------------
    def _get(self, component: str) -> bytes | None:
        row = self.store.scoped(self.merchant_id).components(component).get((self.merchant_id, component))
        return row[0] if row else None

    def _put(self, component: str, blob: bytes) -> None:
        self.store.scoped(self.merchant_id).put_component(component, blob)

    def load_intents(self) -> IntentClassifier:
        blob = self._get(INTENT_COMPONENT)
        return IntentClassifier.from_bytes(blob) if blob else IntentClassifier()

    def save_intents(self) -> None:
        self._put(INTENT_COMPONENT, self.intents.to_bytes())

    def examples(self) -> list[dict[str, Any]]:
        blob = self._get(EXAMPLES_COMPONENT)
        return json.loads(blob.decode()) if blob else []

    def train_intents(self, texts, labels, save: bool = True) -> None:
        """Batch-train the merchant's intent model (e.g. from a labelled CSV)."""
        self.intents.fit(list(texts), list(labels))
        if save:
            self.save_intents()

    # -- answering -----------------------------------------------------------------------------
    def ask(self, question: str) -> Answer:
        t0 = time.perf_counter()
        question = (question or "").strip()
        safe = redact(question)
        flags: list[str] = []
        reasons: list[str] = []
        if detect_injection(question):
            flags.append("prompt_injection")
            reasons.append("prompt injection attempt: not followed")
            log.warning("service merchant=%s prompt injection attempt: %s", self.merchant_id, safe)
        if detect_dispute(question):
            flags.append("dispute")
            reasons.append("dispute or complaint: needs a person")

        intent, p_intent = self.intents.top(question) if question else ("unknown", 0.0)
        if intent in HANDOFF_INTENTS:
            reasons.append(f"intent {intent} needs a person")

        hits = self.kb.search(question, k=self.k) if question else []
        text, citations, coverage = "", [], 0.0
        if hits:
            passages = [h.text for h in hits]
            msgs = grounded_messages([Message("user", question)], passages)
            gen = self.llm.generate(msgs, passages=passages)
            text = (gen.text or "").strip()
            cited = [n for n in gen.cited if 1 <= n <= len(hits)]
            citations = [{"doc_id": hits[n - 1].doc_id, "version": hits[n - 1].version, "text": hits[n - 1].text}
                         for n in cited]
            q = _content(question)
            if q and cited:
                seen: set[str] = set()
                for n in cited:
                    seen |= _content(f"{hits[n - 1].title}\n{hits[n - 1].text}")
                coverage = len(q & seen) / len(q)
            elif cited:
                coverage = 0.5
        if not hits:
            reasons.append("no passage found")
        elif not citations or not text:
            reasons.append("no grounded answer")
        confidence = coverage if not self.intents.classes else (coverage * p_intent) ** 0.5
        if hits and citations and confidence < self.confidence_threshold:
            reasons.append(f"low confidence {confidence:.2f} < {self.confidence_threshold:.2f}")
        escalate = bool(reasons)
        if not text:
            text = "I'm passing your question to a colleague who will get back to you."
        ans = Answer(text, citations, intent, round(float(confidence), 4), escalate, "; ".join(reasons), flags,
                     round(float(p_intent), 4), round(float(coverage), 4),
                     round((time.perf_counter() - t0) * 1000, 3))
        log.info("service merchant=%s intent=%s confidence=%.2f escalate=%s cited=%s question=%s",
                 self.merchant_id, intent, ans.confidence, escalate,
                 [(c["doc_id"], c["version"]) for c in citations], safe)
        return ans

    # -- learning from feedback ----------------------------------------------------------------
    def feedback(self, question: str, answer: str, accepted: bool, corrected_answer: str | None = None,
                 corrected_intent: str | None = None) -> dict[str, Any]:
        """Accepted / corrected answers go to the KB as ``past_answer``; intents train the classifier."""
        question = (question or "").strip()
        if not question:
            raise StateError("feedback needs the question")
        out: dict[str, Any] = {"merchant": self.merchant_id, "past_answer": None, "intent": None}
        final = (corrected_answer or "").strip() or ((answer or "").strip() if accepted else "")
        if final:
            doc_id = "past_answer:" + hashlib.sha1(redact(question).lower().encode()).hexdigest()[:12]
            [(d, v)] = self.kb.add_documents([Document(doc_id, redact(question), redact(final), kind="past_answer",
                                                       source="feedback")])
            out["past_answer"] = {"doc_id": d, "version": v}
        label = (corrected_intent or "").strip()
        if not label and accepted and self.intents.classes:
            label = self.intents.predict_one(question)  # an accepted answer confirms the intent
        if label:
            self.intents.learn_one(question, label)
            self.save_intents()
            ex = self.examples()
            ex.append({"text": redact(question), "intent": label, "accepted": bool(accepted),
                       "corrected": bool(corrected_intent or corrected_answer), "ts": time.time()})
            self._put(EXAMPLES_COMPONENT, json.dumps(ex[-MAX_EXAMPLES:], ensure_ascii=False).encode())
            out["intent"] = label
        log.info("service merchant=%s feedback accepted=%s intent=%s past_answer=%s question=%s", self.merchant_id,
                 accepted, label or None, out["past_answer"], redact(question))
        return out
