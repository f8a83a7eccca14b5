"""The noisy-squares generator of the recurrent and attention chapters."""

import numpy as np
import pytest
import torch

from dlbook.data import SQUARE_CORNERS, make_noisy_squares


def _corner_indices(points):
    """Nearest perfect corner (0..3) of every point."""
    return torch.cdist(points.reshape(-1, 2), SQUARE_CORNERS).argmin(1).reshape(points.shape[:-1])


def test_shapes_dtypes_and_determinism():
    points, directions = make_noisy_squares(64, seed=3)
    assert points.shape == (64, 4, 2) and points.dtype == torch.float32
    assert directions.shape == (64,) and directions.dtype == torch.int64
    assert set(directions.tolist()) == {0, 1}
    again, dirs_again = make_noisy_squares(64, seed=3)
    assert torch.equal(points, again) and torch.equal(directions, dirs_again)
    other, _ = make_noisy_squares(64, seed=4)
    assert not torch.equal(points, other)


def test_direction_label_matches_the_drawing_order():
    points, directions = make_noisy_squares(200, noise=0.0, seed=0)
    corners = _corner_indices(points)
    assert torch.equal(points, SQUARE_CORNERS[corners])          # exact corners without noise
    step = (corners[:, 1:] - corners[:, :-1]) % 4                 # 1: next corner clockwise
    expected = torch.where(directions[:, None] == 1, 1, 3).expand_as(step)
    assert torch.equal(step, expected)
    # Clockwise means a negative signed area (shoelace formula) in x-right, y-up axes.
    x, y = points[..., 0], points[..., 1]
    area = 0.5 * (x * y.roll(-1, 1) - x.roll(-1, 1) * y).sum(1)
    assert torch.equal(area < 0, directions == 1)


def test_noise_level_and_start_corners():
    points, _ = make_noisy_squares(2000, noise=0.1, seed=1)
    residual = points - SQUARE_CORNERS[_corner_indices(points)]
    assert 0.09 < float(residual.std()) < 0.11
    starts = torch.bincount(_corner_indices(points)[:, 0], minlength=4)
    assert int(starts.min()) > 400                                # all four corners start sequences


def test_variable_length():
    points, directions = make_noisy_squares(300, variable_length=True, seed=13)
    assert isinstance(points, list) and len(points) == 300 and directions.shape == (300,)
    lengths = [len(p) for p in points]
    assert set(lengths) == {2, 3, 4}
    assert all(p.shape[1] == 2 and p.dtype == torch.float32 for p in points)
    full, _ = make_noisy_squares(300, seed=13)
    assert all(torch.equal(p, f[: len(p)]) for p, f in zip(points, full))   # prefixes


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 1.5}, {"n": True}, {"noise": -0.1},
                                    {"noise": float("nan")}, {"seed": -1}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_noisy_squares(**kwargs)


def test_variable_length_must_be_boolean():
    with pytest.raises(TypeError):
        make_noisy_squares(4, variable_length="yes")


def test_corners():
    assert SQUARE_CORNERS.dtype == torch.float32
    assert np.allclose(SQUARE_CORNERS.numpy(), [[-1, -1], [-1, 1], [1, 1], [1, -1]])
