"""Prompt templates per class: zero-shot from a description of each label, sharpened by a few shots.

Two scorers behind one estimator:

* the sentence encoder (default): each class is the embedding of its description (``"a negative
  review: the buyer is disappointed"``); a text goes to the nearest description. With k labelled
  target texts, each class vector moves toward the mean of its shots (weight grows with k).
* a local causal language model (``lm=PATH``): the class whose verbaliser (``" positive"``) the
  model finds most likely after the template (``"Review: {text}\\nSentiment:"``). This is the
  prompt variant "where a language model is configured"; nothing is downloaded.

Zero-shot scores lean toward whichever description is closer to everything (a "generic" one);
subtracting each class's mean score over the *unlabelled* target texts removes that lean
(contextual calibration, Zhao et al. 2021). No label is used for it.

>>> import numpy as np
>>> class Enc:  # any object with encode(texts) -> unit vectors
...     def encode(self, texts, **kw):
...         return np.array([[1.0, 0.0] if "good" in t else [0.0, 1.0] for t in texts], dtype=np.float32)
>>> p = PromptClassifier(Enc(), classes=["neg", "pos"], label_prompts={"neg": "bad", "pos": "good"})
>>> p.fit(np.zeros((0, 2)), np.zeros(0, int)).predict(np.array([[0.9, 0.1], [0.2, 0.8]])).tolist()
[1, 0]
"""

from __future__ import annotations

import numpy as np

from ...core.errors import ConfigError

__all__ = ["PromptClassifier", "LMScorer"]


class PromptClassifier:
    """Class vectors from label descriptions (``label_prompts``), blended with target shots."""

    name = "prompt"

    def __init__(self, encoder=None, *, classes=None, label_prompts: dict | None = None,
                 template: str = "{label}", temperature: float = 0.05, shot_strength: float = 4.0,
                 calibrate: bool = True, seed: int = 0, progress: bool = False, lm: str | None = None,
                 lm_template: str = "Review: {text}\nSentiment:", verbalizers: dict | None = None, **_):
        self.encoder = encoder
        self.classes = [str(c) for c in (classes or [])]
        self.label_prompts = {str(k): v for k, v in (label_prompts or {}).items()}
        self.template = template
        self.temperature = float(temperature)
        self.shot_strength = float(shot_strength)
        self.calibrate = calibrate
        self.seed = seed
        self.lm = lm
        self.lm_template = lm_template
        self.verbalizers = {str(k): v for k, v in (verbalizers or {}).items()}
        self.history_: dict[str, list[float]] = {}
        if not self.classes:
            raise ConfigError("the prompt method needs the class labels (classes=[...])")

    @property
    def needs_texts(self) -> bool:
        return self.lm is not None

    def _describe(self, c: str) -> str:
        return self.template.format(label=self.label_prompts.get(c, c))

    def fit(self, Xs, ys, Xt=None, Xt_labeled=None, yt_labeled=None) -> "PromptClassifier":
        """Source data is not used: the prompts stand in for it. ``Xt`` calibrates; shots refine."""
        if self.lm is not None:
            self.scorer_ = LMScorer(self.lm, self.lm_template, [self.verbalizers.get(c, " " + self.label_prompts.get(c, c))
                                                                for c in self.classes])
            self.centroids_ = np.zeros((len(self.classes), 1))
        else:
            if self.encoder is None:
                raise ConfigError("the prompt method needs a text encoder to embed the label descriptions")
            v = np.asarray(self.encoder.encode([self._describe(c) for c in self.classes]), dtype=np.float64)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            if Xt_labeled is not None and len(Xt_labeled):
                Xl = _unit(np.asarray(Xt_labeled, dtype=np.float64))
                yl = np.asarray(yt_labeled)
                for c in range(len(self.classes)):
                    m = yl == c
                    if m.any():  # the more shots, the less the description matters
                        w = m.sum() / (m.sum() + 1.0 / self.shot_strength * 4)
                        v[c] = _unit((1 - w) * v[c] + w * _unit(Xl[m].mean(0)))
            self.centroids_ = v
        self.bias_ = np.zeros(len(self.classes))
        if self.calibrate and Xt is not None and len(Xt):
            self.bias_ = self._scores(Xt).mean(0)
        return self

    def _scores(self, X) -> np.ndarray:
        if self.lm is not None:
            return self.scorer_.score(list(X))
        return _unit(np.asarray(X, dtype=np.float64)) @ self.centroids_.T / self.temperature

    def predict_proba(self, X) -> np.ndarray:
        if not hasattr(self, "centroids_"):
            raise ConfigError("the prompt classifier is not fitted yet")
        s = self._scores(X) - self.bias_
        s -= s.max(1, keepdims=True)
        p = np.exp(s)
        return p / p.sum(1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(1)

    def state_dict(self) -> dict:
        cfg = {"classes": self.classes, "label_prompts": self.label_prompts, "template": self.template,
               "temperature": self.temperature, "shot_strength": self.shot_strength, "calibrate": self.calibrate,
               "seed": self.seed, "lm": self.lm, "lm_template": self.lm_template, "verbalizers": self.verbalizers}
        return {"name": self.name, "config": cfg, "arrays": {"centroids": self.centroids_, "bias": self.bias_}}

    @classmethod
    def from_state(cls, state: dict, encoder=None) -> "PromptClassifier":
        m = cls(encoder, **state["config"])
        m.centroids_ = np.asarray(state["arrays"]["centroids"])
        m.bias_ = np.asarray(state["arrays"]["bias"])
        if m.lm is not None:
            m.scorer_ = LMScorer(m.lm, m.lm_template, [m.verbalizers.get(c, " " + m.label_prompts.get(c, c))
                                                       for c in m.classes])
        return m


class LMScorer:
    """Log-probability of each verbaliser after the template, from a local causal language model."""

    def __init__(self, path: str, template: str, verbalizers: list[str], max_length: int = 256):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path).eval()
        self.template = template
        self.verbal = [self.tok(v, add_special_tokens=False)["input_ids"] for v in verbalizers]
        if any(len(v) == 0 for v in self.verbal):
            raise ConfigError("every verbaliser must be at least one token for the language model")
        self.max_length = max_length

    def score(self, texts: list[str]) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), len(self.verbal)))
        with torch.inference_mode():
            for i, t in enumerate(texts):
                prompt = self.tok(self.template.format(text=t), add_special_tokens=False)["input_ids"]
                room = self.max_length - max(len(v) for v in self.verbal)
                prompt = prompt[-room:]  # keep the end: the template's question sits there
                for j, v in enumerate(self.verbal):
                    ids = torch.tensor([prompt + v])
                    logp = torch.log_softmax(self.model(ids).logits[0, len(prompt) - 1 : -1], -1)
                    out[i, j] = float(logp[torch.arange(len(v)), torch.tensor(v)].sum())
        return out


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(n == 0, 1.0, n)
