"""The sentence classifiers of dlbook.models.text_classifiers: shapes, indifference to padding,
order (in)sensitivity, bad arguments and a few training steps that lower the loss."""

from __future__ import annotations

import pytest
import torch
from conftest import fit_steps

from dlbook.models.text_classifiers import BiLSTMClassifier, MeanEmbeddingClassifier, TextCNN

MODELS = [MeanEmbeddingClassifier, TextCNN, BiLSTMClassifier]
V = 30


def batch(seed: int = 0, n: int = 6, longest: int = 9):
    """Word ids in 2..V-1, padded with 0 at the end; lengths 1..longest (one of length 1)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, longest + 1, (n,), generator=g)
    lengths[0], lengths[1] = 1, longest
    ids = torch.randint(2, V, (n, longest), generator=g)
    ids[torch.arange(longest) >= lengths[:, None]] = 0
    return ids, lengths


@pytest.mark.parametrize("make", MODELS)
def test_logits_shape_and_no_dependence_on_padding(make):
    torch.manual_seed(0)
    model = make(V, embed_dim=8, n_classes=3).eval()
    ids, lengths = batch()
    out = model(ids)
    assert out.shape == (6, 3) and out.dtype == torch.float32
    more_padding = torch.cat([ids, torch.zeros(6, 7, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(more_padding), out, rtol=0, atol=1e-6)
    alone = torch.cat([model(row[:n][None]) for row, n in zip(ids, lengths)])
    torch.testing.assert_close(alone, out, rtol=0, atol=1e-6)


def test_only_the_averaging_model_ignores_word_order():
    torch.manual_seed(0)
    ids = torch.tensor([[5, 6, 7, 8, 9, 10]])
    flipped = ids.flip(1)
    mean = MeanEmbeddingClassifier(V).eval()
    torch.testing.assert_close(mean(ids), mean(flipped))
    for make in (TextCNN, BiLSTMClassifier):
        model = make(V).eval()
        assert not torch.allclose(model(ids), model(flipped))


def test_mean_model_averages_the_real_words():
    model = MeanEmbeddingClassifier(V, embed_dim=4, dropout=0.0).eval()
    ids = torch.tensor([[3, 4, 0, 0]])
    expected = model.mlp(model.embedding.weight[[3, 4]].mean(dim=0, keepdim=True))
    torch.testing.assert_close(model(ids), expected)


def test_cnn_features_are_maxima_over_real_windows():
    torch.manual_seed(1)
    model = TextCNN(V, embed_dim=4, n_filters=2, kernel_sizes=(2,)).eval()
    ids = torch.tensor([[3, 4, 5, 0, 0]])
    emb = model.embedding(ids[:, :3])[0]            # (3, 4): the real words
    conv = model.convs[0]
    windows = [torch.stack([emb[t], emb[t + 1] if t + 1 < 3 else torch.zeros(4)], dim=1) for t in range(3)]
    responses = torch.stack([(conv.weight * w).sum(dim=(1, 2)) + conv.bias for w in windows])
    torch.testing.assert_close(model.features(ids)[0], responses.relu().amax(dim=0))
    assert model.features(ids).shape == (1, 2)


def test_bilstm_features_are_the_final_states_of_both_directions():
    torch.manual_seed(2)
    model = BiLSTMClassifier(V, embed_dim=4, hidden_size=3).eval()
    ids = torch.tensor([[3, 4, 5, 6]])
    output, _ = model.lstm(model.embedding(ids))      # no padding: a plain run
    expected = torch.cat([output[0, -1, :3], output[0, 0, 3:]])
    torch.testing.assert_close(model.features(ids)[0], expected)


@pytest.mark.parametrize("make", MODELS)
def test_a_few_steps_lower_the_loss(make):
    torch.manual_seed(0)
    model = make(V, dropout=0.0)
    ids, _ = batch(seed=1, n=16)
    labels = (ids[:, 0] % 2).long()                  # learnable from the first word
    losses = fit_steps(model, ids, labels, lr=1e-2, steps=30)
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("make", MODELS)
@pytest.mark.parametrize("kwargs, error", [
    (dict(vocab_size=0), ValueError), (dict(vocab_size=3.0), TypeError), (dict(embed_dim=0), ValueError),
    (dict(n_classes=0), ValueError), (dict(dropout=1.0), ValueError), (dict(dropout=-0.1), ValueError),
    (dict(pad_id=V), ValueError), (dict(pad_id=-1), ValueError),
])
def test_bad_arguments(make, kwargs, error):
    args = dict(vocab_size=V) | kwargs
    with pytest.raises(error):
        make(**args)


@pytest.mark.parametrize("kwargs, error", [
    (dict(kernel_sizes=()), ValueError), (dict(kernel_sizes=(3, 0)), ValueError),
    (dict(kernel_sizes="345"), ValueError), (dict(n_filters=0), ValueError),
])
def test_cnn_bad_arguments(kwargs, error):
    with pytest.raises(error):
        TextCNN(V, **kwargs)


@pytest.mark.parametrize("make", MODELS)
def test_bad_inputs(make):
    model = make(V)
    with pytest.raises(TypeError):
        model([[1, 2, 3]])
    with pytest.raises(ValueError):
        model(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError):
        model(torch.rand(2, 3))
