"""Time series: a real record that ships offline, and windows for forecasting without look-ahead.

>>> from dlbook.data.timeseries import load_co2, make_windows
>>> co2 = load_co2("monthly")                 # DataFrame: co2 (ppm), filled (bool)
>>> X, y = make_windows(co2["co2"].to_numpy(), window=24, horizon=1)
>>> X.shape, y.shape                          # (N, 24, 1), (N, 1)
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import torch

__all__ = ["load_co2", "make_windows", "CO2_FREQUENCIES"]

#: The sampling frequencies :func:`load_co2` offers.
CO2_FREQUENCIES = ("weekly", "monthly")


def load_co2(freq: str = "monthly", *, fill: str | None = "interpolate") -> pd.DataFrame:
    """The Mauna Loa atmospheric CO2 record, March 1958 to December 2001, from statsmodels.

    The data are weekly averages of CO2 at Mauna Loa Observatory, Hawaii (Scripps Institution of
    Oceanography), as bundled with statsmodels (``statsmodels.datasets.co2``, documented there as
    public domain). Its description speaks of continuous infrared-analyser measurements, while its
    source and the citation it asks for (Keeling and Whorf, 2004) are those of the flask-sample
    record. Nothing is downloaded. The weekly record has 2,284 weeks, 59 of them without a value.

    Parameters
    ----------
    freq : {"monthly", "weekly"}, default "monthly"
        ``"weekly"``: the record as shipped, one row per week (the index is the Saturday that
        ends the week). ``"monthly"``: one row per calendar month (indexed by the month's
        first day), the mean of the weeks of that month that have a value; 526 months, of
        which 5 (1958-06, 1958-10 and 1964-02 to 1964-04) have no weekly value at all.
    fill : {"interpolate"} or None, default "interpolate"
        ``"interpolate"``: fill every missing value by linear interpolation in time between
        the nearest values before and after the gap (pandas ``interpolate(method="time")``).
        The record has no gap at either end, so every gap lies between two values. Note that
        a filled value depends on the value *after* its gap: fill before splitting only when,
        as here, all gaps lie well before the period you evaluate on. ``None``: keep the gaps
        as NaN.

    Returns
    -------
    pandas.DataFrame
        Indexed by date (``DatetimeIndex`` with a regular frequency), with the columns
        ``co2`` (float64, CO2 mole fraction in dry air, ppm) and ``filled`` (bool: True where
        the value was interpolated, or is NaN when ``fill=None``).
    """
    if freq not in CO2_FREQUENCIES:
        raise ValueError(f"freq must be one of {CO2_FREQUENCIES}, got {freq!r}")
    if fill not in ("interpolate", None):
        raise ValueError(f"fill must be 'interpolate' or None, got {fill!r}")
    from statsmodels.datasets import co2 as sm_co2

    weekly = sm_co2.load_pandas().data["co2"].astype("float64")
    series = weekly if freq == "weekly" else weekly.resample("MS").mean()
    missing = series.isna()
    if fill == "interpolate":
        series = series.interpolate(method="time", limit_area="inside")
    frame = pd.DataFrame({"co2": series, "filled": missing.to_numpy()}, index=series.index)
    frame.index.name = "date"
    return frame


def _as_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def make_windows(series, window: int, horizon: int = 1, *, return_index: bool = False):
    """Cut a series into (past window, future value) pairs for forecasting.

    Example ``i`` takes the ``window`` consecutive values ``series[i : i + window]`` as input
    and, as target, the single value ``horizon`` steps after the last input,
    ``series[i + window + horizon - 1]``. Every input lies strictly before its target, so no
    window looks ahead. To split without look-ahead, assign each example to the period that
    holds its *target* (``return_index=True`` gives the targets' positions); its inputs may
    then reach back into an earlier period, which is information a forecaster has.

    Parameters
    ----------
    series : array-like or torch.Tensor
        Shape ``(T,)`` for one variable or ``(T, F)`` for ``F`` variables; real numbers without
        NaN or infinity (fill or drop gaps first).
    window : int
        Number of past steps in each input (at least 1).
    horizon : int, default 1
        How many steps after the window's last value the target lies (1 = the next value).
    return_index : bool, default False
        Also return the position in ``series`` of every target.

    Returns
    -------
    X : torch.Tensor
        float32, shape ``(N, window, F)`` (``F = 1`` for a 1-D series), batch first as
        ``nn.RNN(batch_first=True)`` expects; ``N = T - window - horizon + 1``.
    y : torch.Tensor
        float32, shape ``(N, F)``.
    index : torch.Tensor, optional
        int64, shape ``(N,)``: ``index[i] = i + window + horizon - 1``.
    """
    window = _as_int(window, "window", 1)
    horizon = _as_int(horizon, "horizon", 1)
    if isinstance(series, (pd.Series, pd.DataFrame)):
        series = series.to_numpy()
    try:
        values = (series.detach().cpu().double() if torch.is_tensor(series)
                  else torch.from_numpy(np.array(series, dtype=np.float64)))
    except (TypeError, ValueError) as err:
        raise TypeError(f"series must be a sequence of real numbers, got {type(series).__name__}") from err
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"series must have shape (T,) or (T, F), got {tuple(values.shape)}")
    if not torch.isfinite(values).all():
        bad = int((~torch.isfinite(values)).any(dim=1).sum())
        raise ValueError(f"series has {bad} step(s) with NaN or infinity; fill or drop the gaps before "
                         "making windows")
    n = values.shape[0] - window - horizon + 1
    if n < 1:
        raise ValueError(f"series of length {values.shape[0]} is too short for window={window} and "
                         f"horizon={horizon}: it needs at least {window + horizon} steps")
    X = values.unfold(0, window, 1)[:n].transpose(1, 2).float().contiguous()  # (N, window, F)
    index = torch.arange(n) + window + horizon - 1
    y = values[index].float()
    return (X, y, index) if return_index else (X, y)
