"""Batched tensor augmentation: dlbook.data.augment."""

import pytest
import torch
from torch import nn

from dlbook.data.augment import BatchAugment, random_crop_flip
from conftest import fit_steps


def ramp_images(n=16, c=3, h=8, w=8, dtype=torch.float32):
    """Images whose every pixel is distinct (so crops and flips can be read off exactly)."""
    return torch.arange(n * c * h * w, dtype=torch.float64).reshape(n, c, h, w).to(dtype) + 1


def test_shapes_dtypes_and_devices_are_kept():
    for dtype in (torch.float32, torch.uint8, torch.float64):
        x = ramp_images(dtype=dtype) if dtype != torch.uint8 else torch.randint(0, 256, (5, 3, 32, 32),
                                                                                 dtype=torch.uint8)
        out = random_crop_flip(x, padding=4, generator=torch.Generator().manual_seed(0))
        assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device


def test_every_output_is_a_shifted_possibly_mirrored_window_of_its_own_image():
    x = ramp_images()
    pad = 2
    out = random_crop_flip(x, padding=pad, generator=torch.Generator().manual_seed(1))
    padded = nn.functional.pad(x, (pad,) * 4)
    for i in range(len(x)):
        matches = [(t, l, f) for t in range(2 * pad + 1) for l in range(2 * pad + 1) for f in (False, True)
                   if torch.equal(out[i], (lambda win: win.flip(-1) if f else win)(
                       padded[i, :, t:t + x.shape[2], l:l + x.shape[3]]))]
        assert len(matches) == 1, f"image {i}: not exactly one crop/flip explains it"


def test_draws_are_independent_per_sample():
    x = ramp_images(n=64)
    out = random_crop_flip(x, padding=4, generator=torch.Generator().manual_seed(2))
    # With one set of parameters for the whole batch every image would move the same way; here the
    # offsets of the first pixel differ across the batch.
    padded = nn.functional.pad(x, (4,) * 4)
    offsets = set()
    for i in range(len(x)):
        for t in range(9):
            for l in range(9):
                for f in (False, True):
                    win = padded[i, :, t:t + 8, l:l + 8]
                    if torch.equal(out[i], win.flip(-1) if f else win):
                        offsets.add((t, l, f))
    assert len(offsets) > 20


def test_the_same_seed_gives_the_same_batch_and_another_seed_does_not():
    x = ramp_images()
    a = random_crop_flip(x, generator=torch.Generator().manual_seed(3))
    b = random_crop_flip(x, generator=torch.Generator().manual_seed(3))
    c = random_crop_flip(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(5)
    d = random_crop_flip(x)          # global generator
    torch.manual_seed(5)
    assert torch.equal(d, random_crop_flip(x))


def test_flip_actually_flips_and_padding_zero_is_only_a_flip():
    x = ramp_images()
    assert torch.equal(random_crop_flip(x, padding=0, flip_p=1.0), x.flip(-1))
    assert torch.equal(random_crop_flip(x, padding=0, flip_p=0.0), x)
    out = random_crop_flip(x, padding=0, flip_p=0.5, generator=torch.Generator().manual_seed(6))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x)]
    kept = [torch.equal(o, i) for o, i in zip(out, x)]
    assert all(f != k for f, k in zip(flipped, kept)) and 0 < sum(flipped) < len(x)


def test_padding_fill_value_appears_at_the_border():
    x = torch.ones(200, 1, 4, 4)
    out = random_crop_flip(x, padding=2, fill=-1.0, flip_p=0.0, generator=torch.Generator().manual_seed(7))
    assert set(out.unique().tolist()) == {-1.0, 1.0}
    assert (out == 1).sum(dim=(1, 2, 3)).min() >= 4     # at least a 2x2 corner of the image is kept


def test_module_augments_in_train_mode_only_and_seeds_its_own_stream():
    x = ramp_images()
    aug = BatchAugment(padding=2, generator=torch.Generator().manual_seed(8))
    first, second = aug(x), aug(x)
    assert not torch.equal(first, second)                # a fresh draw every call
    aug.eval()
    assert aug(x) is x
    expected = random_crop_flip(x, 2, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, expected)
    assert "padding=2" in repr(aug)


def test_generator_state_travels_in_the_state_dict():
    x = ramp_images()
    aug = BatchAugment(generator=torch.Generator().manual_seed(9))
    aug(x)
    state = aug.state_dict()
    expected = aug(x)
    other = BatchAugment(generator=torch.Generator().manual_seed(123))
    other.load_state_dict(state)
    assert torch.equal(other(x), expected)
    with pytest.raises(ValueError, match="no generator"):
        BatchAugment().load_state_dict(state)


def test_module_trains_inside_a_model():
    torch.manual_seed(0)
    y = torch.arange(64) % 2
    x = torch.rand(64, 3, 8, 8)
    x[:, 0] += y[:, None, None]                   # class 1 is redder: colour, not position
    model = nn.Sequential(BatchAugment(padding=1, generator=torch.Generator().manual_seed(0)),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    losses = fit_steps(model, x, y, lr=0.1, steps=50)
    assert losses[-1] < 0.6 * losses[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cpu_and_cuda_give_the_same_augmentation():
    x = ramp_images()
    cpu = random_crop_flip(x, generator=torch.Generator().manual_seed(10))
    gpu = random_crop_flip(x.cuda(), generator=torch.Generator().manual_seed(10))
    assert gpu.is_cuda and torch.equal(gpu.cpu(), cpu)
    cuda_gen = torch.Generator(device="cuda").manual_seed(10)
    assert random_crop_flip(x.cuda(), generator=cuda_gen).is_cuda


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(padding=-1), ValueError, "padding"), (dict(padding=1.5), ValueError, "padding"),
    (dict(flip_p=1.5), ValueError, "flip_p"), (dict(generator=0), TypeError, "generator"),
])
def test_bad_options_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        random_crop_flip(ramp_images(), **kwargs)
    with pytest.raises(error, match=match):
        BatchAugment(**kwargs)


def test_bad_images_are_named():
    with pytest.raises(TypeError, match="images"):
        random_crop_flip([[1, 2]])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        random_crop_flip(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        BatchAugment().eval()(torch.zeros(3, 8, 8))


def test_works_inside_the_trainer_and_is_off_for_evaluate_and_predict():
    from torch.utils.data import DataLoader, TensorDataset

    import dlbook

    gen = dlbook.seed_everything(11)
    x, y = torch.rand(32, 3, 8, 8), torch.arange(32) % 2
    net = nn.Sequential(nn.Flatten(), nn.Linear(192, 2))
    model = nn.Sequential(BatchAugment(padding=2), net)
    trainer = dlbook.Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                             device="cpu", verbose=False)
    trainer.fit(DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=gen), epochs=2)
    assert model.training                       # fit leaves the model in training mode
    assert torch.equal(trainer.predict(x), net.eval()(x).detach())   # predict: no augmentation
