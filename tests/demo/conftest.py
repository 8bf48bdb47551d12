"""A small demo country, generated once per test session (scale 0.02, six years)."""

from __future__ import annotations

from pathlib import Path

import pytest

from talaia.demo import GenerationResult, generate

SCALE = 0.02
SEED = 7


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> GenerationResult:
    return generate(tmp_path_factory.mktemp("demo") / "out", seed=SEED, scale=SCALE)


@pytest.fixture(scope="session")
def out(demo) -> Path:
    return demo.out_dir
