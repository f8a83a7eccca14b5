"""plot_filters and plot_feature_maps: layout, shared scales, and clear errors on bad shapes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from dlbook.vision_plots import plot_feature_maps, plot_filters  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_filters_of_a_one_channel_layer_wrap_into_rows():
    conv = nn.Conv2d(1, 10, 3)
    fig = plot_filters(conv.weight, ncols=4, colorbar=False)
    assert len(fig.axes) == 10  # 3 rows of 4, the two empty cells removed
    assert fig.axes[0].get_title() == "filter 0"
    assert len(fig.axes[0].texts) == 9  # 3x3 kernels are annotated by default
    fig = plot_filters(conv.weight, ncols=4)
    assert len(fig.axes) == 11  # plus the colour bar


def test_filters_of_a_multichannel_layer_are_a_filter_by_channel_grid():
    w = torch.randn(5, 3, 3, 3)
    fig = plot_filters(w, colorbar=False, annotate=False)
    assert len(fig.axes) == 15
    assert fig.axes[0].get_title() == "input channel 0" and fig.axes[3].get_ylabel() == "filter 1"
    assert not fig.axes[0].texts
    # one symmetric colour scale for every kernel
    limits = {ax.images[0].get_clim() for ax in fig.axes}
    m = float(w.abs().max())
    assert limits == {(-m, m)}


def test_filters_accept_arrays_and_single_kernels():
    assert len(plot_filters(np.ones((2, 5, 5)), colorbar=False).axes) == 2
    assert len(plot_filters(np.eye(3), colorbar=False).axes) == 1
    assert len(plot_filters(np.zeros((1, 1, 3, 3)), colorbar=False).axes) == 1  # all-zero: no division by 0


@pytest.mark.parametrize("bad", [np.ones(3), np.ones((1, 1, 1, 3, 3)), np.ones((0, 1, 3, 3))])
def test_filters_reject_bad_shapes(bad):
    with pytest.raises(ValueError, match="weight must have shape"):
        plot_filters(bad)


def test_filters_reject_bad_arguments():
    with pytest.raises(ValueError, match="ncols"):
        plot_filters(np.ones((2, 3, 3)), ncols=0)
    with pytest.raises(TypeError, match="numbers"):
        plot_filters(np.array([["a", "b"], ["c", "d"]]))


def test_feature_maps_grid_has_one_row_per_layer_channel_and_one_column_per_image():
    maps = {"conv1": torch.randn(12, 2, 8, 8), "pool1": torch.randn(12, 2, 4, 4), "fc": torch.randn(12, 3)}
    images = torch.rand(12, 1, 10, 10)
    labels, preds = [0, 1, 2] * 4, [0, 1, 1] * 4
    fig = plot_feature_maps(maps, images=images, labels=labels, predictions=preds, max_images=10)
    grid = np.array(fig.axes).reshape(1 + 2 + 2 + 1, 10)
    assert grid.shape == (6, 10)
    assert grid[0, 0].get_ylabel() == "input" and grid[1, 0].get_ylabel() == "conv1[0]"
    assert grid[5, 0].get_ylabel() == "fc"
    assert grid[0, 2].get_title() == "2→1" and grid[0, 1].get_title() == "1→1"
    # a row shares one colour scale
    assert len({ax.images[0].get_clim() for ax in grid[1]}) == 1


def test_feature_maps_accept_one_tensor_and_limit_channels():
    fig = plot_feature_maps(torch.randn(3, 6, 5, 5), max_channels=2)
    assert len(fig.axes) == 2 * 3
    fig = plot_feature_maps({"x": np.zeros((2, 4, 4))})  # constant maps: no division by 0
    assert len(fig.axes) == 2


@pytest.mark.parametrize("maps, match", [
    ({}, "empty"),
    ({"a": torch.randn(4)}, "must have shape"),
    ({"a": torch.randn(2, 1, 1, 3, 3)}, "must have shape"),
    ({"a": torch.randn(2, 3, 4, 4), "b": torch.randn(3, 3, 4, 4)}, "same number of images"),
])
def test_feature_maps_reject_bad_shapes(maps, match):
    with pytest.raises(ValueError, match=match):
        plot_feature_maps(maps)


def test_feature_maps_reject_mismatched_images_and_labels():
    maps = {"a": torch.randn(4, 1, 3, 3)}
    with pytest.raises(ValueError, match="images must have shape"):
        plot_feature_maps(maps, images=torch.rand(5, 1, 8, 8))
    with pytest.raises(ValueError, match="labels has 3 entries"):
        plot_feature_maps(maps, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="max_images"):
        plot_feature_maps(maps, max_images=0)
    with pytest.raises(TypeError, match="layer names"):
        plot_feature_maps({1: torch.randn(4, 1, 3, 3)})
