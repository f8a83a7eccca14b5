import numpy as np
import pytest

from dlbook.data import make_linear_regression, make_parabolas, split_indices


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


def test_parabolas_shapes_balance_and_determinism():
    X, y = make_parabolas(300, seed=5)
    assert X.shape == (600, 2) and X.dtype == np.float32
    assert y.shape == (600,) and y.dtype == np.int64 and y.sum() == 300
    X2, y2 = make_parabolas(300, seed=5)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, make_parabolas(300, seed=6)[0])
    assert np.allclose(X.mean(axis=0), 0, atol=1e-5)


def test_parabolas_lie_on_their_own_parabola():
    X, y = make_parabolas(2000, gap=0.6, noise=0.05, shuffle=False, seed=0)
    assert y[:2000].sum() == 0 and y[2000:].sum() == 2000
    # Undo the centring by fitting x2 = a x1^2 + c per class: same curvature, offsets gap apart.
    fits = [np.polyfit(X[y == k, 0], X[y == k, 1], 2) for k in (0, 1)]
    for a, lin, _ in fits:
        assert abs(a - 1.0) < 0.02 and abs(lin) < 0.05
    assert abs((fits[1][2] - fits[0][2]) - 0.6) < 0.01


def test_parabolas_need_a_curved_boundary():
    from sklearn.linear_model import LogisticRegression
    X, y = make_parabolas(1000, seed=1)
    linear = LogisticRegression().fit(X, y).score(X, y)
    curved = LogisticRegression().fit(np.c_[X, X[:, 0] ** 2], y).score(np.c_[X, X[:, 0] ** 2], y)
    assert linear < 0.75 and curved > 0.97


@pytest.mark.parametrize("kwargs", [{"n_per_class": 0}, {"gap": 0}, {"curvature": 0}, {"noise": -0.1},
                                    {"x_range": 0}, {"seed": "a"}])
def test_parabolas_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_parabolas(**kwargs)
