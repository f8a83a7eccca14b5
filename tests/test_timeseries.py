import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from dlbook.data.timeseries import load_co2, make_windows


# ------------------------------------------------------------------------------------------
# load_co2
# ------------------------------------------------------------------------------------------
def test_weekly_record_as_shipped_with_gaps_filled():
    raw = load_co2("weekly", fill=None)
    assert isinstance(raw.index, pd.DatetimeIndex) and len(raw) == 2284
    assert raw.index[0] == pd.Timestamp("1958-03-29") and raw.index[-1] == pd.Timestamp("2001-12-29")
    assert list(raw.columns) == ["co2", "filled"]
    assert raw["co2"].dtype == np.float64 and raw["filled"].dtype == bool
    assert int(raw["co2"].isna().sum()) == 59 == int(raw["filled"].sum())
    assert raw["filled"].equals(raw["co2"].isna())
    filled = load_co2("weekly")
    assert not filled["co2"].isna().any()
    # values that were present are unchanged; filled ones lie between their neighbours
    kept = ~raw["filled"]
    assert np.array_equal(filled["co2"][kept].to_numpy(), raw["co2"][kept].to_numpy())
    assert filled["filled"].equals(raw["filled"])


def test_monthly_means_and_the_five_empty_months():
    raw = load_co2("monthly", fill=None)
    assert len(raw) == 526 and raw.index.freqstr == "MS"
    assert raw.index[0] == pd.Timestamp("1958-03-01") and raw.index[-1] == pd.Timestamp("2001-12-01")
    empty = [d.strftime("%Y-%m") for d in raw.index[raw["filled"]]]
    assert empty == ["1958-06", "1958-10", "1964-02", "1964-03", "1964-04"]
    weekly = load_co2("weekly", fill=None)["co2"]
    march_1990 = weekly["1990-03-01":"1990-03-31"].mean()
    assert raw.loc["1990-03-01", "co2"] == pytest.approx(march_1990)
    monthly = load_co2("monthly")
    assert not monthly["co2"].isna().any()
    # linear in time across the three-month gap of 1964
    gap = monthly["co2"]["1964-01-01":"1964-05-01"].to_numpy()
    assert np.all(np.diff(gap) > 0) or np.all(np.diff(gap) < 0)
    # plausible values (ppm) and a rising record
    assert 310 < monthly["co2"].min() and monthly["co2"].max() < 380
    assert monthly["co2"]["2001"].mean() - monthly["co2"]["1959"].mean() > 50


def test_load_co2_is_deterministic():
    a, b = load_co2("monthly"), load_co2("monthly")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("kwargs", [{"freq": "daily"}, {"freq": "M"}, {"fill": "zero"}, {"fill": "ffill"}])
def test_load_co2_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="freq|fill"):
        load_co2(**kwargs)


# ------------------------------------------------------------------------------------------
# make_windows
# ------------------------------------------------------------------------------------------
def test_windows_shapes_dtypes_and_values():
    series = np.arange(10.0)
    X, y, index = make_windows(series, window=3, horizon=2, return_index=True)
    assert X.shape == (6, 3, 1) and y.shape == (6, 1) and index.shape == (6,)
    assert X.dtype == y.dtype == torch.float32 and index.dtype == torch.int64
    assert X[0, :, 0].tolist() == [0, 1, 2] and y[0, 0].item() == 4
    assert X[-1, :, 0].tolist() == [5, 6, 7] and y[-1, 0].item() == 9
    assert torch.equal(y[:, 0], torch.as_tensor(series, dtype=torch.float32)[index])


def test_no_window_looks_ahead():
    """Every input position lies strictly before its target, horizon - 1 steps before at the latest."""
    t = torch.arange(50.0)            # the series is its own time stamp
    for window, horizon in [(1, 1), (5, 1), (12, 3), (7, 12)]:
        X, y = make_windows(t, window, horizon)
        latest_input = X[:, -1, 0]
        assert torch.equal(y[:, 0] - latest_input, torch.full_like(latest_input, horizon))
        assert (X[:, :, 0] < y).all()
        assert len(X) == 50 - window - horizon + 1


def test_several_variables_and_inputs_of_every_kind():
    series = np.stack([np.arange(8.0), -np.arange(8.0)], axis=1)   # (8, 2)
    X, y = make_windows(series, 4)
    assert X.shape == (4, 4, 2) and y.shape == (4, 2)
    assert X[1, :, 1].tolist() == [-1, -2, -3, -4] and y[1].tolist() == [5, -5]
    for kind in (list(range(8)), torch.arange(8), pd.Series(np.arange(8.0))):
        X2, y2 = make_windows(kind, 4)
        assert torch.equal(X2[:, :, 0], X[:, :, 0]) and torch.equal(y2[:, 0], y[:, 0])


def test_windows_do_not_share_memory_with_the_input():
    t = torch.arange(6.0)
    X, _ = make_windows(t, 2)
    X[0, 0, 0] = 100.0
    assert t[0].item() == 0.0


@pytest.mark.parametrize("window,horizon,error", [
    (0, 1, ValueError), (3, 0, ValueError), (2.0, 1, TypeError), (True, 1, TypeError),
    (3, "1", TypeError), (9, 2, ValueError)])
def test_windows_bad_sizes(window, horizon, error):
    with pytest.raises(error, match="window|horizon"):
        make_windows(np.arange(10.0), window, horizon)


def test_windows_refuse_gaps_and_bad_series():
    with pytest.raises(ValueError, match="NaN"):
        make_windows([1.0, np.nan, 3.0, 4.0], 2)
    with pytest.raises(ValueError, match="shape"):
        make_windows(np.zeros((4, 2, 2)), 2)
    with pytest.raises(TypeError, match="series"):
        make_windows(["a", "b", "c"], 1)


def test_a_forecaster_learns_from_the_windows():
    """A few steps of a small GRU on windows of a sine wave lower the loss."""
    torch.manual_seed(0)
    X, y = make_windows(np.sin(np.arange(200) * 2 * np.pi / 12), window=12)

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(1, 8, batch_first=True)
            self.head = nn.Linear(8, 1)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    model = Forecaster()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = nn.functional.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
