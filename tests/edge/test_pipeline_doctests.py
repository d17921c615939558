"""The usage examples in the pipeline modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "camtrap.core.preprocess",
    "camtrap.core.regions",
    "camtrap.core.boxes",
    "camtrap.core.components",
    "camtrap.core.crops",
    "camtrap.core.targets",
    "camtrap.core.verdict",
    "camtrap.core.trigger",
    "camtrap.core.modelcard",
    "camtrap.core.hits",
    "camtrap.core.hit_uplink",
    "camtrap.sim.clock",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
