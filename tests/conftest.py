import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("CUSTSEG_FUZZ_MAX_EXAMPLES", "5000")),
    deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def cdnow_transactions():
    from custseg.datasets import load_cdnow_transactions

    return load_cdnow_transactions()


@pytest.fixture(scope="session")
def cdnow_summary():
    from custseg.datasets import load_cdnow_summary

    return load_cdnow_summary()


@pytest.fixture(scope="session")
def donations():
    from custseg.datasets import load_donations

    return load_donations()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def lifetimes():
    """lifetimes 0.11.3, imported quietly, or the test is skipped with the reason."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("lifetimes", reason="lifetimes 0.11.3 is the parity peer")
