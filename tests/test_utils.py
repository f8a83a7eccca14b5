import random

import numpy as np
import pytest
import torch

import dlbook
from dlbook.utils import rng_state, set_rng_state


def draw():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_everything_makes_all_generators_repeat():
    g1 = dlbook.seed_everything(123)
    a = draw() + (float(torch.rand(1, generator=g1)),)
    g2 = dlbook.seed_everything(123)
    b = draw() + (float(torch.rand(1, generator=g2)),)
    assert a == b
    dlbook.seed_everything(124)
    assert draw() != a[:3]


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "7", True, None])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError), match="seed"):
        dlbook.seed_everything(bad)


def test_get_device_defaults_and_explicit_cpu():
    assert dlbook.get_device("cpu") == torch.device("cpu")
    assert dlbook.get_device().type in {"cpu", "cuda", "mps"}


def test_get_device_rejects_unknown_or_missing_devices():
    with pytest.raises(ValueError, match="torch device"):
        dlbook.get_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            dlbook.get_device("cuda")


def test_rng_state_round_trip_restores_every_stream():
    dlbook.seed_everything(5)
    state = rng_state()
    first = draw()
    draw()
    set_rng_state(state)
    assert draw() == first
