"""Tests of dlbook.models.recurrent: shapes for every cell, what the readout reads, packed input,
errors on bad arguments, and a few training steps that lower the loss."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_sequence, pad_sequence

from dlbook.models.recurrent import RECURRENT_CELLS, SequenceClassifier

CELLS = list(RECURRENT_CELLS)


def squares(n: int, seed: int = 0, length: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Points walking around the square (+-1, +-1) clockwise (label 1) or not (label 0)."""
    g = torch.Generator().manual_seed(seed)
    corners = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
    start = torch.randint(0, 4, (n,), generator=g)
    direction = torch.randint(0, 2, (n,), generator=g)
    step = torch.where(direction == 1, 1, -1)
    idx = (start[:, None] + step[:, None] * torch.arange(length)) % 4
    points = corners[idx] + 0.1 * torch.randn(n, length, 2, generator=g)
    return points, direction


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_output_and_feature_shapes(cell, num_layers, bidirectional):
    model = SequenceClassifier(3, 5, 4, cell=cell, num_layers=num_layers, bidirectional=bidirectional)
    x = torch.randn(7, 6, 3)
    d = 2 if bidirectional else 1
    assert model(x).shape == (7, 4)
    assert model.features(x).shape == (7, 5 * d)
    assert model.head.in_features == 5 * d
    assert isinstance(model.rnn, RECURRENT_CELLS[cell]) and model.rnn.batch_first
    assert model.n_directions == d


@pytest.mark.parametrize("cell", CELLS)
def test_unidirectional_readouts_agree_with_the_last_output(cell):
    torch.manual_seed(0)
    model = SequenceClassifier(2, 4, 1, cell=cell, num_layers=2)
    x = torch.randn(5, 7, 2)
    output, _ = model.rnn(x)
    torch.testing.assert_close(model.features(x), output[:, -1])
    model.readout = "output"
    torch.testing.assert_close(model.features(x), output[:, -1])


@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_hidden_readout_holds_each_direction_after_the_whole_sequence(cell):
    torch.manual_seed(1)
    model = SequenceClassifier(2, 3, 1, cell=cell, bidirectional=True)
    x = torch.randn(4, 6, 2)
    output, _ = model.rnn(x)
    feats = model.features(x)
    torch.testing.assert_close(feats[:, :3], output[:, -1, :3])   # forward: after the last step
    torch.testing.assert_close(feats[:, 3:], output[:, 0, 3:])    # reverse: after the first step
    # the reverse direction equals a forward pass over the flipped sequence with the reverse weights
    single = RECURRENT_CELLS[cell](2, 3, batch_first=True)
    single.load_state_dict({k.removesuffix("_reverse"): v for k, v in model.rnn.state_dict().items()
                            if k.endswith("_reverse")})
    out_rev, _ = single(torch.flip(x, dims=[1]))
    torch.testing.assert_close(feats[:, 3:], out_rev[:, -1])
    model.readout = "output"
    torch.testing.assert_close(model.features(x), output[:, -1])
    assert not torch.allclose(model.features(x)[:, 3:], feats[:, 3:])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("readout", ["hidden", "output"])
def test_packed_input_reads_each_sequence_up_to_its_own_end(cell, bidirectional, readout):
    torch.manual_seed(2)
    model = SequenceClassifier(2, 3, 2, cell=cell, bidirectional=bidirectional, readout=readout)
    seqs = [torch.randn(n, 2) for n in (2, 5, 3)]  # not sorted by length
    packed = pack_sequence(seqs, enforce_sorted=False)
    alone = torch.cat([model.features(s.unsqueeze(0)) for s in seqs])
    torch.testing.assert_close(model.features(packed), alone)
    padded = pad_sequence(seqs, batch_first=True)
    # padding with zeros and reading to the end gives something else for the shorter sequences
    assert not torch.allclose(model.features(padded)[0], alone[0])


@pytest.mark.parametrize("cell", CELLS)
def test_changing_a_later_step_leaves_earlier_outputs_alone(cell):
    """A unidirectional recurrent layer is causal: step t only sees steps up to t."""
    torch.manual_seed(3)
    model = SequenceClassifier(2, 4, 1, cell=cell)
    x = torch.randn(3, 6, 2)
    y = x.clone()
    y[:, 4] += 1.0
    out_x, _ = model.rnn(x)
    out_y, _ = model.rnn(y)
    torch.testing.assert_close(out_x[:, :4], out_y[:, :4])
    assert not torch.allclose(out_x[:, 4:], out_y[:, 4:])


@pytest.mark.parametrize("cell", CELLS)
def test_a_few_steps_of_training_lower_the_loss(cell):
    torch.manual_seed(4)
    x, y = squares(64, seed=4)
    model = SequenceClassifier(2, 4, 1, cell=cell)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.BCEWithLogitsLoss()
    target = y.float().unsqueeze(1)
    first = loss_fn(model(x), target).item()
    for _ in range(30):
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
    assert loss_fn(model(x), target).item() < 0.7 * first


def test_the_same_seed_builds_the_same_model():
    torch.manual_seed(5)
    a = SequenceClassifier(2, 3, 1, cell="lstm")
    torch.manual_seed(5)
    b = SequenceClassifier(2, 3, 1, cell="lstm")
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_parameter_counts_follow_the_gate_formula():
    # per layer and direction: gates * (H * (F + H) + 2 H); gates = 1, 3, 4
    for cell, gates in (("rnn", 1), ("gru", 3), ("lstm", 4)):
        model = SequenceClassifier(2, 5, 1, cell=cell)
        n_rnn = sum(p.numel() for p in model.rnn.parameters())
        assert n_rnn == gates * (5 * (2 + 5) + 2 * 5)


def test_cell_name_is_case_insensitive_and_repr_shows_the_readout():
    model = SequenceClassifier(2, 3, 1, cell="GRU", readout="output")
    assert isinstance(model.rnn, nn.GRU) and model.cell == "gru"
    assert "readout='output'" in repr(model)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(cell="transformer"), ValueError, "cell must be one of"),
    (dict(cell=3), ValueError, "cell must be one of"),
    (dict(readout="last"), ValueError, "readout must be"),
    (dict(num_layers=0), ValueError, "num_layers must be a positive int"),
    (dict(num_layers=1.5), TypeError, "num_layers must be an int"),
    (dict(bidirectional=1), TypeError, "bidirectional must be a bool"),
    (dict(dropout=0.3), ValueError, "num_layers >= 2"),
    (dict(dropout=1.0, num_layers=2), ValueError, "dropout must be a number in"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    args = dict(n_features=2, hidden_size=3, n_outputs=1)
    with pytest.raises(error, match=match):
        SequenceClassifier(**args, **kwargs)
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        SequenceClassifier(2, 0, 1)
    with pytest.raises(TypeError, match="n_features must be an int"):
        SequenceClassifier(True, 3, 1)


def test_bad_inputs_are_named():
    model = SequenceClassifier(2, 3, 1)
    with pytest.raises(ValueError, match=r"\(N, L, n_features\)"):
        model(torch.randn(4, 2))
    with pytest.raises(ValueError, match="n_features=2"):
        model(torch.randn(4, 5, 3))
    with pytest.raises(TypeError, match="floating-point"):
        model(torch.ones(4, 5, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="PackedSequence"):
        model([[0.0, 1.0]])
    with pytest.raises(ValueError, match="length 0"):
        model(torch.randn(4, 0, 2))


def test_dropout_between_stacked_layers_is_used_in_training_only():
    torch.manual_seed(6)
    model = SequenceClassifier(2, 8, 1, num_layers=2, dropout=0.5)
    x = torch.randn(4, 5, 2)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
    model.train()
    assert not torch.allclose(model(x), model(x))
