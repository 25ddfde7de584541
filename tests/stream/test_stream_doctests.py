"""The runnable examples in the stream modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["base", "builtin_mappings", "files", "intake", "mapping", "mapspec", "opener", "redis_streams", "sim",
           "sorting", "tabular"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"ecomops.stream.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
