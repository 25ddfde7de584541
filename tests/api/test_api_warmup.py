"""The service loads the knowledge-base encoder at start, on a side thread, not in the first /v1/ask."""

from __future__ import annotations

import threading
import time

from ecomops.api.runtime import Runtime, ServiceConfig
from ecomops.knowledge import dense


def test_encoder_preloaded_at_start(tmp_path, monkeypatch):
    monkeypatch.setattr(dense, "_LOADED", {})
    rt = Runtime(ServiceConfig(state=tmp_path / "s", kb_encoder="default"))
    assert "default" not in dense._LOADED  # constructing the runtime loads nothing
    rt.start()
    try:
        deadline = time.monotonic() + 120
        while "default" not in dense._LOADED and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "default" in dense._LOADED
    finally:
        rt.close()


def test_no_preload_for_bm25_only(tmp_path, monkeypatch):
    monkeypatch.setattr(dense, "_LOADED", {})
    rt = Runtime(ServiceConfig(state=tmp_path / "s", kb_encoder="none"))
    rt.start()
    try:
        time.sleep(0.3)
        assert dense._LOADED == {} and not any(t.name == "ecomops-warm-encoder" for t in threading.enumerate())
    finally:
        rt.close()
