"""8-bit dynamic quantization: the speed-up and the accuracy change, on CPU.

Encoder (the bundled MiniLM): embed Blitzer reviews with float32 and int8 weights (per tensor and
per channel); report texts/s, the cosine between the int8 and float vectors, and the accuracy of the
same frozen-feature classifier (trained on one category, tested on another) on each.

Local causal LM: no pre-trained LM ships offline, so speed is measured on a GPT-2-small-shaped model
(124M parameters, random weights): greedy tokens/s in float32 and int8, and how far the int8 next-token
distribution moves (KL divergence, top-1 agreement). Accuracy on a real task needs a real model: pass
``--lm PATH`` to measure one.

    python benchmarks/quantization.py --threads 2 --out benchmarks/results/quantization.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ecomops.learn.quantize import quantize_int8  # noqa: E402
from ecomops.learn.transfer.data import read_blitzer_domain, split_labeled  # noqa: E402
from ecomops.learn.transfer.encoder import TextEncoder  # noqa: E402


def encoder_section(data_dir: Path, n: int, pairs, max_length: int, seed: int = 0) -> dict:
    from ecomops.learn.transfer.adapters import make_adapter

    domains = sorted({d for p in pairs for d in p})
    texts, labels = {}, {}
    for d in domains:
        ds = read_blitzer_domain(data_dir / d)
        idx, _ = split_labeled(ds, n, seed)
        texts[d] = [ds.texts[i] for i in idx]
        labels[d] = np.array([int(ds.labels[i]) for i in idx])
    base = TextEncoder("default", max_length=max_length, cache_dir=False)
    variants = {"float32": base.model, "int8_per_tensor": quantize_int8(base.model, per_channel=False),
                "int8_per_channel": quantize_int8(base.model)}
    out, ref = {}, {}
    for name, model in variants.items():
        base.model = model
        base.encode(texts[domains[0]][:16])  # warm-up
        t0 = time.perf_counter()
        vecs = {d: base.encode(texts[d]) for d in domains}
        secs = time.perf_counter() - t0
        if name == "float32":
            ref = vecs
        cos = float(np.mean([(vecs[d] * ref[d]).sum(1).mean() for d in domains]))
        accs = {}
        for s, t in pairs:
            a = make_adapter("source_only", seed=seed).fit(vecs[s], labels[s], vecs[t])
            accs[f"{s}->{t}"] = round(float((a.predict(vecs[t]) == labels[t]).mean()), 4)
        out[name] = {"texts_per_s": round(sum(len(v) for v in texts.values()) / secs, 1), "seconds": round(secs, 2),
                     "cosine_to_float32": round(cos, 4), "accuracy": accs,
                     "mean_accuracy": round(float(np.mean(list(accs.values()))), 4)}
        print(f"encoder {name:17s} {out[name]['texts_per_s']:7.1f} texts/s  cos {cos:.4f}  acc {accs}", file=sys.stderr)
    f = out["float32"]["texts_per_s"]
    for v in out.values():
        v["speedup"] = round(v["texts_per_s"] / f, 2)
    out["setup"] = {"texts": sum(len(v) for v in texts.values()), "max_length": max_length, "pairs": [list(p) for p in pairs],
                    "classifier": "source_only head on frozen embeddings (trained on the source, tested on the target)"}
    return out


def lm_section(path: str | None, new_tokens: int, prompts: int, seed: int = 0) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    if path:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        what = path
    else:
        model = GPT2LMHeadModel(GPT2Config()).eval()  # GPT-2 small shape, random weights
        what = "GPT-2 small shape (124M), random weights: speed only"
    q = quantize_int8(model)
    vocab = model.config.vocab_size
    rng = np.random.default_rng(seed)
    batch = [torch.tensor(rng.integers(0, vocab, size=(1, 64))) for _ in range(prompts)]
    out = {"model": what}
    for name, m in (("float32", model), ("int8", q)):
        m.generate(input_ids=batch[0], max_new_tokens=2, do_sample=False, pad_token_id=0)
        t0 = time.perf_counter()
        for ids in batch:
            m.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                       do_sample=False, pad_token_id=0)
        secs = time.perf_counter() - t0
        out[name] = {"tokens_per_s": round(prompts * new_tokens / secs, 1)}
    with torch.inference_mode():
        kl, agree = [], []
        for ids in batch:
            p = torch.log_softmax(model(ids).logits[0], -1)
            r = torch.log_softmax(q(ids).logits[0], -1)
            kl.append(float((p.exp() * (p - r)).sum(-1).mean()))
            agree.append(float((p.argmax(-1) == r.argmax(-1)).float().mean()))
    out["int8"]["speedup"] = round(out["int8"]["tokens_per_s"] / out["float32"]["tokens_per_s"], 2)
    out["int8"]["kl_to_float32"] = round(float(np.mean(kl)), 5)
    out["int8"]["top1_agreement"] = round(float(np.mean(agree)), 4)
    print(f"lm {out}", file=sys.stderr)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("ECOMOPS_DATA", str(ROOT.parent / "shared" / "data")) + "/blitzer")
    ap.add_argument("--n", type=int, default=1000, help="reviews per category")
    ap.add_argument("--pairs", default="kitchen:electronics,electronics:kitchen,books:dvd,dvd:books")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--lm", default=None, help="a local causal LM folder (default: GPT-2 small shape, random)")
    ap.add_argument("--lm-tokens", type=int, default=32)
    ap.add_argument("--lm-prompts", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    t0 = time.time()
    pairs = [tuple(p.split(":")) for p in a.pairs.split(",")]
    res = {"encoder": encoder_section(Path(a.data), a.n, pairs, a.max_length),
           "lm": lm_section(a.lm, a.lm_tokens, a.lm_prompts), "threads": torch.get_num_threads(),
           "torch": torch.__version__, "quantized_engine": torch.backends.quantized.engine,
           "runtime_s": round(time.time() - t0, 1),
           "command": "python benchmarks/quantization.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    text = json.dumps(res, indent=1)
    if a.out:
        Path(a.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
