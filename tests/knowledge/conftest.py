"""Fixtures for the knowledge-base tests (`store` and `encoder` come from tests/conftest.py)."""

from __future__ import annotations


import pytest



@pytest.fixture
def write(tmp_path):
    """``write("name.ext", text) -> path`` in a per-test folder."""

    def _write(name: str, text: str):
        p = tmp_path / "files" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    return _write
