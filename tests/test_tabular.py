"""The water-potability table through the registry (needs the offline bundle; skipped otherwise)."""

import hashlib

import pytest

from conftest import skip_unless_offline
from dlbook.data import (WATER_POTABILITY_FEATURES, ChecksumError, DataUnavailableError,
                         get_dataset_info, load_water_potability)


@pytest.fixture(scope="module")
def potability_available():
    skip_unless_offline("water-potability", "water_potability.csv", "water potability")


def test_table_contents(potability_available):
    frame = load_water_potability()
    assert frame.shape == (3276, 10)
    assert list(frame.columns) == [*WATER_POTABILITY_FEATURES, "Potability"]
    assert frame["Potability"].value_counts().to_dict() == {0: 1998, 1: 1278}
    missing = frame.isna().sum()
    assert missing["ph"] == 491 and missing["Sulfate"] == 781 and missing["Trihalomethanes"] == 162
    assert missing.drop(["ph", "Sulfate", "Trihalomethanes"]).sum() == 0
    assert 0 <= frame["ph"].min() and frame["ph"].max() <= 14


def test_corrupt_copy_is_refused(isolated_data):
    data_root, _ = isolated_data
    target = data_root / "tabular" / "water_potability.csv"
    target.parent.mkdir(parents=True)
    target.write_text("ph,Hardness\n7.0,200\n")
    assert hashlib.sha256(target.read_bytes()).hexdigest() != get_dataset_info("water-potability").files[0].sha256
    with pytest.raises(ChecksumError):
        load_water_potability(download=False)


def test_missing_copy_names_the_data_set(isolated_data):
    with pytest.raises(DataUnavailableError, match="water-potability"):
        load_water_potability(download=False)
