"""Tabular data sets, returned as pandas DataFrames exactly as published (missing values kept)."""

from __future__ import annotations

import os

import pandas as pd

from .registry import DataError, fetch_file

__all__ = ["load_water_potability", "WATER_POTABILITY_FEATURES"]

WATER_POTABILITY_FEATURES = ("ph", "Hardness", "Solids", "Chloramines", "Sulfate", "Conductivity",
                             "Organic_carbon", "Trihalomethanes", "Turbidity")


def load_water_potability(*, root: str | os.PathLike | None = None,
                          download: bool | None = None) -> pd.DataFrame:
    """Load the water-potability table.

    Parameters
    ----------
    root : path-like, optional
        An existing folder searched before ``$DLBOOK_DATA`` and the cache (layout ``tabular/water_potability.csv``).
    download : bool, optional
        Allow downloading when no local copy exists (default: yes, unless ``$DLBOOK_OFFLINE`` is
        ``1``, ``true``, ``yes`` or ``on``).

    Returns
    -------
    pandas.DataFrame
        3,276 rows; the nine float feature columns of :data:`WATER_POTABILITY_FEATURES` (``ph``,
        ``Sulfate`` and ``Trihalomethanes`` have missing values, kept as NaN) and the integer
        target ``Potability`` (1 = safe to drink).
    """
    path = fetch_file("water-potability", "water_potability.csv", root=root, download=download)
    frame = pd.read_csv(path)
    expected = [*WATER_POTABILITY_FEATURES, "Potability"]
    if list(frame.columns) != expected:
        raise DataError(f"{path}: expected columns {expected}, found {list(frame.columns)}")
    frame["Potability"] = frame["Potability"].astype("int64")
    return frame
