"""Redis Streams source against a real redis-server: consumer group, crash, exactly-once resume."""

from __future__ import annotations

import socket

import orjson
import pytest
import redis

from ecomops.core.errors import SourceError
from ecomops.stream import DeadLetter, RedisStreamSink, open_source, parse, publish
from ecomops.stream.redis_streams import entry_key
from stream_events import view


def _open(port, **kw):
    opts = dict(group="g", consumer="c1", block_ms=50, count=7, stop_when_idle=True)
    opts.update(kw)
    return open_source(f"redis://127.0.0.1:{port}/events", **opts)


def test_crash_and_resume_delivers_each_entry_once_beyond_the_checkpoint(redis_port):
    client = redis.Redis(port=redis_port)
    ids = publish(client, "events", [view(i) for i in range(40)])
    assert len(ids) == 40 and [entry_key(a) for a in ids] == sorted(entry_key(a) for a in ids)

    first = _open(redis_port)
    got = []
    for rec in first.read():
        got.append(rec)
        if len(got) == 25:
            break
    assert [parse(r).event_id for r in got] == [f"e{i}" for i in range(25)]
    checkpoint = orjson.loads(orjson.dumps(got[9].offset))  # the engine checkpointed 10 records
    first.commit(checkpoint)
    assert first.pending() == 28 - 10  # delivered in batches of 7, not acknowledged
    first.close()  # crash: the other 15 are never committed

    more = publish(client, "events", [view(i) for i in range(40, 50)])  # producers went on meanwhile

    second = _open(redis_port)
    replay = list(second.read(after=checkpoint))
    delivered = [r.offset for r in replay]
    assert delivered == ids[10:] + more  # each once, in order; none of the committed ones
    assert [parse(r).event_id for r in replay] == [f"e{i}" for i in range(10, 50)]
    second.commit(replay[-1].offset)
    assert second.pending() == 0
    assert list(_open(redis_port).read(after=replay[-1].offset)) == []  # nothing comes back


def test_entries_up_to_the_checkpoint_are_acked_not_redelivered(redis_port):
    """A crash between the engine's checkpoint and the XACK leaves checkpointed entries pending."""
    client = redis.Redis(port=redis_port)
    ids = publish(client, "events", [view(i) for i in range(12)])
    first = _open(redis_port)
    assert len(list(first.read())) == 12  # all delivered, nothing committed
    first.close()
    second = _open(redis_port)
    replay = list(second.read(after=ids[7]))  # checkpoint had reached entry 7
    assert [r.offset for r in replay] == ids[8:]
    assert second.pending() == 4  # 0..7 were acknowledged while skipping them


def test_entries_without_event_field_become_error_records(redis_port):
    client = redis.Redis(port=redis_port)
    sink = RedisStreamSink(client, "events")
    a = sink.send(view(1))
    b = client.xadd("events", {"payload": b"{}", "kind": b"view"}).decode()
    c = sink.send(orjson.dumps(view(3)))
    d = sink.send(b"not json")
    recs = list(_open(redis_port).read())
    assert [r.offset for r in recs] == [a, b, c, d]
    assert recs[1].error[0] == "missing_event_field" and "fields: kind, payload" in recs[1].error[1]
    out = [parse(r) for r in recs]
    assert [o.event_id for o in out if not isinstance(o, DeadLetter)] == ["e1", "e3"]
    dead = [o for o in out if isinstance(o, DeadLetter)]
    assert [(x.code, x.offset) for x in dead] == [("missing_event_field", b), ("malformed", d)]
    assert orjson.loads(dead[0].raw) == {"payload": "{}", "kind": "view"}
    assert dead[0].source == f"redis://127.0.0.1:{redis_port}/events?group=g"


def test_a_new_group_starts_at_the_beginning_and_groups_are_independent(redis_port):
    client = redis.Redis(port=redis_port)
    publish(client, "events", [view(i) for i in range(5)])  # before any consumer exists
    assert len(list(_open(redis_port, group="a").read())) == 5
    assert len(list(_open(redis_port, group="b").read())) == 5


def test_bad_offsets_and_unreachable_redis_say_what_to_do(redis_port):
    with pytest.raises(SourceError, match="not a Redis stream entry ID"):
        list(_open(redis_port).read(after=[1, 0, 0]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    with pytest.raises(SourceError, match=f"start it with `redis-server --port {dead_port}`"):
        open_source(f"redis://127.0.0.1:{dead_port}/events")
    with pytest.raises(SourceError, match="redis://HOST:PORT/STREAM"):
        open_source(f"redis://127.0.0.1:{redis_port}")
    redis.Redis(port=redis_port).set("plain", "x")
    with pytest.raises(SourceError, match="is the key a stream"):
        open_source(f"redis://127.0.0.1:{redis_port}/plain")
