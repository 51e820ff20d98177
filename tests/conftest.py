"""Shared test settings.

Hypothesis profiles: ``ci`` (the default: 2,000 examples per property,
derandomized so that CI is reproducible), ``thorough`` (10,000 random examples
per property: ``pytest --hypothesis-profile=thorough``) and ``dev`` (100, for
quick local runs).
"""

import os

import torch
from hypothesis import HealthCheck, settings

_common = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("ci", max_examples=2000, derandomize=True, **_common)
settings.register_profile("thorough", max_examples=10000, **_common)
settings.register_profile("dev", max_examples=100, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

torch.set_num_threads(1)
