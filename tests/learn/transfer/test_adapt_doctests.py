"""The runnable examples in the adapter modules' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest


MODULES = ["head", "coral", "mmd", "dann", "self_training", "fewshot", "adapters"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"ecomops.learn.transfer.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
