"""The service learns at once but saves on its own clock: a steady stream is not checkpointed every
second (a save stalls scoring), a pause or a waiting client gets a save, and nothing is lost."""

from __future__ import annotations

import json
import time

from api_server import sim_events

from ecomops.api.runtime import Runtime, ServiceConfig
from ecomops.store.inbox import InboxRow


def _until(cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _rows(events):
    return [InboxRow(json.dumps(e).encode()) for e in events]


def test_learned_before_saved_then_saved_on_pause_or_wait(tmp_path):
    events = sim_events(3000, seed=5)
    rt = Runtime(ServiceConfig(state=tmp_path / "s", kb_encoder="none", flush_interval=0.05,
                               checkpoint_interval=3600, quiet=3600))
    rt.start()
    try:
        last = rt.append(_rows(events[:1000]))
        # learned (the engine's offset covers the rows) but not saved: no pause, nobody waiting
        assert _until(lambda: int(rt.engine.offset or 0) >= last)
        time.sleep(0.3)
        assert rt.applied == 0 and rt.checkpoints == 0
        assert rt.backlog() == 0  # the backlog counts what is not learned, so forwarders keep going
        assert _until(lambda: rt.engine.records_read == 1000 and rt.engine.events_applied > 900)
        # a client waiting for its events gets a save
        assert rt.wait_applied(last, timeout=30)
        assert rt.checkpoints == 1 and rt.applied >= last
        saved = rt.store.checkpoint("main")
        assert saved is not None and int(saved.offset) >= last
    finally:
        rt.close()

    # a pause saves too, and a restart neither loses nor repeats anything
    rt = Runtime(ServiceConfig(state=tmp_path / "s", kb_encoder="none", flush_interval=0.05,
                               checkpoint_interval=3600, quiet=0.2))
    rt.start()
    try:
        last = rt.append(_rows(events[1000:]))
        assert _until(lambda: rt.applied >= last)
        assert rt.engine.records_read == 3000 and rt.engine.dead_letter_total == 0
    finally:
        rt.close()


def test_steady_stream_saves_on_the_interval_not_per_read(tmp_path):
    events = sim_events(6000, seed=6)
    rt = Runtime(ServiceConfig(state=tmp_path / "s", kb_encoder="none", flush_interval=0.05,
                               checkpoint_interval=3600, quiet=3600))
    rt.start()
    try:
        for i in range(0, 6000, 500):  # many engine reads, each ending when the inbox drains
            last = rt.append(_rows(events[i:i + 500]))
            assert _until(lambda: int(rt.engine.offset or 0) >= last)
        assert rt.checkpoints == 0
    finally:
        rt.close()  # stopping saves
    rt = Runtime(ServiceConfig(state=tmp_path / "s", kb_encoder="none"))
    try:
        assert rt.engine.records_read == 6000 and rt.applied >= last
    finally:
        rt.store.close()
