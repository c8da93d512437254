"""Shared fixtures. Tests use ../shared/data when it is there (the real data) and the bundled sample
otherwise; the header of the pytest report says which."""
from __future__ import annotations

import os

import pytest

from fer_utils.data.io import SAMPLE_ROOT, resolve_root

ROOT, ORIGIN = resolve_root()
REAL = ROOT.resolve() != SAMPLE_ROOT.resolve()


def pytest_report_header(config):
    which = "REAL data" if REAL else "the BUNDLED SAMPLE (../shared/data not found)"
    return f"fer_utils data: {which} at {ROOT} (from {ORIGIN})"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Each test session gets its own loader cache so cache behaviour is tested from cold."""
    old = os.environ.get("FER_CACHE_DIR")
    os.environ["FER_CACHE_DIR"] = str(tmp_path_factory.mktemp("fer_cache"))
    yield
    if old is None:
        os.environ.pop("FER_CACHE_DIR", None)
    else:
        os.environ["FER_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def data_root():
    return ROOT


@pytest.fixture(scope="session")
def sample_root():
    return SAMPLE_ROOT


real_only = pytest.mark.skipif(not REAL, reason="needs the real data in ../shared/data")
