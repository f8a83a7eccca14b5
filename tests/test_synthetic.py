import numpy as np
import pytest

from dlbook.data import make_linear_regression, split_indices


def test_linear_regression_shapes_determinism_and_truth():
    x, y = make_linear_regression(500, b=1.0, w=2.0, noise=0.1, seed=0)
    assert x.shape == y.shape == (500, 1) and x.dtype == np.float64
    assert 0 <= x.min() and x.max() < 1
    x2, y2 = make_linear_regression(500, b=1.0, w=2.0, noise=0.1, seed=0)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    design = np.hstack([np.ones_like(x), x])
    (b_hat, w_hat), *_ = np.linalg.lstsq(design, y[:, 0], rcond=None)
    assert abs(b_hat - 1.0) < 0.05 and abs(w_hat - 2.0) < 0.1
    residual_std = np.std(y[:, 0] - design @ [b_hat, w_hat])
    assert 0.08 < residual_std < 0.12


def test_linear_regression_x_scale():
    x, _ = make_linear_regression(200, x_scale=10.0, seed=1)
    assert x.max() > 5 and x.max() < 10


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 2.5}, {"noise": -1}, {"x_scale": 0}, {"seed": -3}])
def test_linear_regression_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_linear_regression(**kwargs)


def test_split_indices_partition():
    train, val = split_indices(100, 0.2, seed=3)
    assert len(train) == 80 and len(val) == 20
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    again = split_indices(100, 0.2, seed=3)
    assert np.array_equal(train, again[0])


@pytest.mark.parametrize("n,frac", [(1, 0.5), (10, 0.0), (10, 1.0), (3, 0.01)])
def test_split_indices_bad_arguments(n, frac):
    with pytest.raises(ValueError):
        split_indices(n, frac)
