import pickle

from ecomops.learn.online.delayed import DelayedLabels


def test_resolve_expire_and_order():
    d = DelayedLabels(horizon=10, default_label=0.0, max_pending=100)
    for i, ts in enumerate([0, 1, 2, 3]):
        assert d.register(f"k{i}", {"i": i}, ts)
    assert not d.register("k1", {}, 5)  # first registration wins
    assert d.resolve("k2", 1.0)
    assert not d.resolve("nope", 1.0)
    assert d.expire(11.5) == 2  # k0 (ts 0) and k1 (ts 1) are past the horizon; k3 is not
    got = [(p.key, p.label) for p in d.take_resolved()]
    assert got == [("k2", 1.0), ("k0", 0.0), ("k1", 0.0)]
    assert len(d) == 1 and d.n_unmatched == 1


def test_bounded_memory_evicts_oldest_with_default_label():
    d = DelayedLabels(horizon=1e9, default_label=0.0, max_pending=3)
    for i in range(5):
        d.register(i, None, float(i))
    assert len(d) == 3 and d.n_evicted == 2
    assert [p.key for p in d.take_resolved()] == [0, 1]


def test_no_default_label_means_unlabelled_expiry_is_not_learned():
    d = DelayedLabels(horizon=1, default_label=None)
    d.register("a", None, 0)
    d.expire(5)
    assert d.take_resolved() == []


def test_state_roundtrip_keeps_scored_pending():
    d = DelayedLabels(horizon=10, default_label=0.0)
    d.register("a", {"x": 1}, 0)
    (p,) = d.take_unscored()
    p.prob, p.indices, p.values, p.features = 0.3, [1], [1.0], None
    s = pickle.loads(pickle.dumps(d.state_dict()))
    e = DelayedLabels(horizon=10, default_label=0.0)
    e.load_state_dict(s)
    assert e.resolve("a", 1.0)
    (q,) = e.take_resolved()
    assert (q.prob, q.label) == (0.3, 1.0)


def test_hold_learns_early_labels_at_the_horizon_in_registration_order():
    d = DelayedLabels(horizon=10, default_label=0.0, hold=True, max_pending=2)
    d.register("a", None, 0)
    d.register("b", None, 1)
    assert d.resolve("b", 1.0) and d.take_resolved() == []
    d.register("c", None, 2)  # over capacity: "a" is evicted with the default label
    assert [(p.key, p.label) for p in d.take_resolved()] == [("a", 0.0)]
    d.expire(11.5)
    assert [(p.key, p.label) for p in d.take_resolved()] == [("b", 1.0)]
    assert not d.resolve("b", 1.0)  # already learned: a late duplicate label is not learned twice
