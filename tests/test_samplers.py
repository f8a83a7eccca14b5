import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

from dlbook.data.samplers import class_counts_per_epoch, class_weights, make_balanced_sampler


def imbalanced_labels():
    # 600 of class 0, 150 of class 1, 50 of class 2
    return torch.cat([torch.zeros(600), torch.ones(150), torch.full((50,), 2)]).long()


def test_class_weights_are_inverse_counts():
    w = class_weights(imbalanced_labels())
    assert w.dtype == torch.float64 and w.shape == (3,)
    assert torch.allclose(w, torch.tensor([1 / 600, 1 / 150, 1 / 50], dtype=torch.float64))
    # every class carries the same total weight
    counts = torch.tensor([600, 150, 50], dtype=torch.float64)
    assert torch.allclose(w * counts, torch.ones(3, dtype=torch.float64))


def test_class_weights_accepts_arrays_and_lists_and_gives_absent_classes_zero():
    w = class_weights(np.array([0, 0, 2]), n_classes=4)
    assert w.tolist() == [0.5, 0.0, 1.0, 0.0]
    assert class_weights([1, 1, 0]).tolist() == [1.0, 0.5]


@pytest.mark.parametrize("bad,error", [
    (torch.tensor([0.0, 1.0]), TypeError),
    (torch.tensor([True, False]), TypeError),
    ("012", TypeError),
    (torch.zeros(2, 2, dtype=torch.long), ValueError),
    (torch.tensor([], dtype=torch.long), ValueError),
    (torch.tensor([0, -1]), ValueError),
    ([0, 1.5], TypeError),
])
def test_class_weights_rejects_bad_labels(bad, error):
    with pytest.raises(error, match="labels"):
        class_weights(bad)


def test_class_weights_rejects_too_few_classes():
    with pytest.raises(ValueError, match="n_classes"):
        class_weights([0, 3], n_classes=2)
    with pytest.raises(ValueError, match="n_classes"):
        class_weights([0, 1], n_classes=0)


def test_balanced_sampler_draws_classes_about_equally_and_is_seeded():
    y = imbalanced_labels()
    sampler = make_balanced_sampler(y, generator=13)
    assert isinstance(sampler, WeightedRandomSampler) and len(sampler) == len(y)
    assert sampler.replacement
    idx = torch.tensor(list(sampler))
    counts = torch.bincount(y[idx], minlength=3)
    assert counts.sum() == len(y)
    # each class expects 800 / 3 = 267 draws; the binomial sd is about 13
    assert (counts - 800 / 3).abs().max() < 60, counts
    again = torch.tensor(list(make_balanced_sampler(y, generator=13)))
    assert torch.equal(idx, again)
    other = torch.tensor(list(make_balanced_sampler(y, generator=14)))
    assert not torch.equal(idx, other)
    # rare examples repeat: only 50 distinct class-2 examples serve about 267 draws
    assert len(set(idx[y[idx] == 2].tolist())) <= 50


def test_balanced_sampler_num_samples_and_generator_object():
    g = torch.Generator().manual_seed(0)
    sampler = make_balanced_sampler([0, 0, 0, 1], num_samples=1000, generator=g)
    assert len(list(sampler)) == 1000 and sampler.generator is g


@pytest.mark.parametrize("kwargs,error", [
    ({"num_samples": 0}, ValueError), ({"num_samples": 2.0}, ValueError),
    ({"generator": -1}, ValueError), ({"generator": "13"}, TypeError),
])
def test_balanced_sampler_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        make_balanced_sampler([0, 1, 1], **kwargs)


def test_class_counts_per_epoch_before_and_after_balancing():
    y = imbalanced_labels()
    ds = TensorDataset(torch.zeros(len(y), 1), y)
    plain = DataLoader(ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    counts = class_counts_per_epoch(plain, 3, epochs=2)
    assert counts.dtype == torch.int64 and counts.shape == (2, 3)
    assert counts.tolist() == [[600, 150, 50], [600, 150, 50]]  # shuffling never changes the counts
    balanced = DataLoader(ds, batch_size=64, sampler=make_balanced_sampler(y, generator=1))
    counts = class_counts_per_epoch(balanced, 3, epochs=3)
    assert (counts.sum(dim=1) == len(y)).all()
    assert (counts.min(dim=1).values > 200).all(), counts
    assert not torch.equal(counts[0], counts[1])   # a fresh draw every epoch


def test_class_counts_per_epoch_drop_last_and_2d_targets():
    y = torch.tensor([0, 1, 1, 2, 2, 2, 2])
    ds = TensorDataset(torch.zeros(7, 1), y.unsqueeze(1))
    counts = class_counts_per_epoch(DataLoader(ds, batch_size=3, drop_last=True), 3)
    assert counts.tolist() == [[1, 2, 3]]


def test_class_counts_per_epoch_rejects_bad_input():
    ds = TensorDataset(torch.zeros(4, 1), torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="n_classes"):
        class_counts_per_epoch(DataLoader(ds, batch_size=2), 3)
    with pytest.raises(ValueError, match="epochs"):
        class_counts_per_epoch(DataLoader(ds, batch_size=2), 4, epochs=0)
    with pytest.raises(TypeError, match="loader"):
        class_counts_per_epoch(torch.zeros(3), 4)
    with pytest.raises(ValueError, match="pairs"):
        class_counts_per_epoch([torch.zeros(2)], 4)
