import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import dlbook  # noqa: E402
from dlbook.models import MLP  # noqa: E402
from dlbook.plots import plot_history, plot_lr_range_test, show_images, use_style  # noqa: E402
from dlbook.train import History, LRRangeTestResult  # noqa: E402
from conftest import fit_steps  # noqa: E402


def test_mlp_shapes_parameters_and_learning():
    dlbook.seed_everything(0)
    model = MLP(784, (32, 16), 10, dropout=0.1)
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert sum(p.numel() for p in model.parameters()) == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    assert isinstance(MLP(4, (), 3)[1], nn.Linear)  # no hidden layer: a linear model
    x = torch.randn(256, 784)
    y = (x @ torch.randn(784, 10)).argmax(dim=1)  # a learnable labelling
    losses = fit_steps(model, x, y, lr=5e-3, steps=40)
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("args", [(0, (8,), 2), (4, (8, -1), 2), (4, (8,), 2.5)])
def test_mlp_rejects_bad_sizes(args):
    with pytest.raises(ValueError, match="positive ints"):
        MLP(*args)


def test_mlp_rejects_bad_dropout():
    with pytest.raises(ValueError, match="dropout"):
        MLP(4, (8,), 2, dropout=1.0)


def test_plot_history_draws_loss_and_metric_panels():
    use_style()
    h = History([{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 0.5 + e / 10,
                  "val_accuracy": 0.4 + e / 10, "lr": 0.1} for e in range(1, 4)])
    fig = plot_history(h, log_loss=True)
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    assert [line.get_label() for line in fig.axes[0].lines] == ["training", "validation"]
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        plot_history(History())


def test_plot_lr_range_test_and_show_images():
    result = LRRangeTestResult(lrs=list(np.logspace(-4, 0, 20)), losses=list(np.linspace(2, 1, 20)),
                               raw_losses=list(np.linspace(2, 1, 20)), suggestion=0.01)
    fig = plot_lr_range_test(result)
    assert fig.axes[0].get_xscale() == "log"
    plt.close(fig)
    images = torch.rand(10, 1, 8, 8)
    fig = show_images(images, labels=list(range(10)), predictions=[0] * 10, ncols=5, title="t")
    assert len(fig.axes) == 10
    plt.close(fig)
    with pytest.raises(ValueError, match="shape"):
        show_images(torch.rand(8, 8))
    with pytest.raises(ValueError, match="labels has 3 entries for 10 images"):
        show_images(images, labels=[1, 2, 3])


def test_loss_landscape_figures():
    from dlbook.plots import plot_loss_contour, plot_loss_surface_3d, plot_steps_1d

    b, w = np.meshgrid(np.linspace(-1, 3, 21), np.linspace(-1, 5, 31))
    loss = (b - 1) ** 2 + 0.5 * (w - 2) ** 2
    path = np.array([[-0.5, 4.0], [0.2, 3.0], [0.8, 2.3], [1.0, 2.0]])
    ax = plot_loss_contour(b, w, loss, {"batch": path}, minimum=(1, 2), title="bowl")
    assert ax.get_title() == "bowl" and ax.get_legend() is not None
    assert np.allclose(ax.lines[0].get_xydata(), path)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="share one 2-D shape"):
        plot_loss_contour(b, w[:-1], loss)
    with pytest.raises(ValueError, match="n_levels"):
        plot_loss_contour(b, w, loss, n_levels=1)
    ax = plot_steps_1d(lambda v: (v - 1) ** 2, [3.0, 0.0, 1.5, 0.9], center=1.0)
    assert len(ax.texts) == 3  # one arrow per step
    assert ax.get_xlim()[0] < 0.0 and ax.get_xlim()[1] > 3.0  # every step is in view
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="starting point"):
        plot_steps_1d(lambda v: v, [], center=0.0)
    ax = plot_loss_surface_3d(b, w, loss + 0.1, point=(1, 2, 0.1), title="surface")
    assert ax.name == "3d" and ax.get_title() == "surface"
    plt.close(ax.figure)


def test_plot_confusion_matrix_normalises_and_labels():
    from dlbook.plots import plot_confusion_matrix

    counts = np.array([[8, 2], [1, 9]])
    ax = plot_confusion_matrix(counts, class_names=["cat", "dog"], normalize="true")
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0.80\n(8)", "0.20\n(2)", "0.10\n(1)", "0.90\n(9)"]  # rows sum to one: recall
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    image = ax.images[0].get_array()
    assert np.allclose(image.sum(axis=1), 1.0)
    ax = plot_confusion_matrix(torch.tensor(counts), normalize="pred", show_counts=False)
    assert [t.get_text() for t in ax.texts] == ["0.89", "0.18", "0.11", "0.82"]  # columns sum to one
    assert [t.get_text() for t in plot_confusion_matrix(counts).texts] == ["8", "2", "1", "9"]
    plt.close("all")


@pytest.mark.parametrize("kwargs,match", [({"confusion": np.ones((2, 3))}, "square"),
                                          ({"confusion": np.ones((2, 2)), "class_names": ["a"]}, "class_names"),
                                          ({"confusion": np.ones((2, 2)), "normalize": "rows"}, "normalize")])
def test_plot_confusion_matrix_rejects_bad_input(kwargs, match):
    from dlbook.plots import plot_confusion_matrix

    with pytest.raises(ValueError, match=match):
        plot_confusion_matrix(**kwargs)
