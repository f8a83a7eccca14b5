"""Three sentence classifiers over word ids: averaged embeddings, a 1-D CNN, and a bidirectional LSTM.

The chapter *MLPs, 1-D CNNs and LSTMs for text* builds them and compares them on the UCI sentiment
sentences; *Contextual embeddings and BERT* sets a fine-tuned MiniLM beside them::

    from dlbook.models.text_classifiers import BiLSTMClassifier, MeanEmbeddingClassifier, TextCNN

    model = TextCNN(vocab_size=1729)                 # ids (N, L), padded with 0 at the end
    model(torch.randint(1, 1729, (8, 12))).shape     # (8, 2): logits for nn.CrossEntropyLoss

Every model reads a batch of word ids of shape ``(N, L)``, padded at the end with ``pad_id``, and
works out each sentence's length from the padding. None of them is affected by how much padding a
batch has: a sentence gets the same logits alone or in a batch with longer sentences. Each has an
``embedding`` attribute (an ``nn.Embedding``) that pretrained vectors can be copied into, e.g. from
:func:`dlbook.models.text.pretrained_embeddings`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ._checks import positive_int as _positive_int, probability as _probability

__all__ = ["MeanEmbeddingClassifier", "TextCNN", "BiLSTMClassifier"]


def _check_common(vocab_size, embed_dim, n_classes, dropout, pad_id) -> None:
    _positive_int("vocab_size", vocab_size)
    _positive_int("embed_dim", embed_dim)
    _positive_int("n_classes", n_classes)
    _probability("dropout", dropout)
    if isinstance(pad_id, bool) or not isinstance(pad_id, int) or not 0 <= pad_id < vocab_size:
        raise ValueError(f"pad_id must be an int in [0, vocab_size), got {pad_id!r}")


def _check_ids(ids) -> None:
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"the input must be a tensor of word ids, got {type(ids).__name__}")
    if ids.ndim != 2 or ids.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"the input must be int64 word ids of shape (N, L), got {ids.dtype} of shape "
                         f"{tuple(ids.shape)}")


class MeanEmbeddingClassifier(nn.Module):
    """Average the embeddings of a sentence's words, then classify the average with an MLP.

    The average ignores padding and word order: a bag of embeddings. Iyyer et al. (2015) call the
    deeper variant of this model a deep averaging network.

    Parameters
    ----------
    vocab_size : int
    embed_dim : int, default 50
    hidden : int, default 64
        Width of the hidden layer of the MLP (``Linear -> ReLU -> Dropout -> Linear``).
    n_classes : int, default 2
        Number of logits.
    dropout : float, default 0.5
    pad_id : int, default 0
        The padding id; its embedding is zero and never trained.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 50, hidden: int = 64, n_classes: int = 2,
                 dropout: float = 0.5, pad_id: int = 0) -> None:
        super().__init__()
        _check_common(vocab_size, embed_dim, n_classes, dropout, pad_id)
        _positive_int("hidden", hidden)
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_classes))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _check_ids(ids)
        mask = (ids != self.pad_id).unsqueeze(-1).float()             # (N, L, 1)
        summed = (self.embedding(ids) * mask).sum(dim=1)
        return self.mlp(summed / mask.sum(dim=1).clamp(min=1))


class TextCNN(nn.Module):
    """Kim's (2014) convolutional sentence classifier: 1-D convolutions of several widths over the
    word embeddings, global max pooling over time, dropout and a linear layer.

    A filter of width ``k`` looks at ``k`` consecutive words. Max pooling keeps, for every filter,
    its strongest response anywhere in the sentence, over the windows that start at a real word
    (a window may run into the padding after the last word, whose embedding is zero).

    Parameters
    ----------
    vocab_size : int
    embed_dim : int, default 50
    n_filters : int, default 32
        Filters per width.
    kernel_sizes : sequence of int, default (3, 4, 5)
    n_classes : int, default 2
    dropout : float, default 0.5
        Applied to the pooled features.
    pad_id : int, default 0
    """

    def __init__(self, vocab_size: int, embed_dim: int = 50, n_filters: int = 32,
                 kernel_sizes: Sequence[int] = (3, 4, 5), n_classes: int = 2, dropout: float = 0.5,
                 pad_id: int = 0) -> None:
        super().__init__()
        _check_common(vocab_size, embed_dim, n_classes, dropout, pad_id)
        _positive_int("n_filters", n_filters)
        if isinstance(kernel_sizes, (str, bytes)) or not isinstance(kernel_sizes, Sequence) or not kernel_sizes:
            raise ValueError(f"kernel_sizes must be a non-empty sequence of ints, got {kernel_sizes!r}")
        for k in kernel_sizes:
            _positive_int("each kernel size", k)
        self.pad_id, self.kernel_sizes = pad_id, tuple(kernel_sizes)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, n_filters, k) for k in self.kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(n_filters * len(self.kernel_sizes), n_classes)

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """The pooled filter responses, ``(N, n_filters * len(kernel_sizes))``, before dropout."""
        _check_ids(ids)
        L = ids.shape[1]
        lengths = (ids != self.pad_id).sum(dim=1).clamp(min=1)
        x = self.embedding(ids).transpose(1, 2)                       # (N, E, L): channels first
        x = F.pad(x, (0, max(self.kernel_sizes) - 1))                  # room for the last windows
        outside = torch.arange(L, device=ids.device) >= lengths[:, None]   # (N, L): window starts in padding
        pooled = [F.relu(conv(x)[..., :L]).masked_fill(outside[:, None, :], float("-inf")).amax(dim=-1)
                  for conv in self.convs]
        return torch.cat(pooled, dim=1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(ids)))


class BiLSTMClassifier(nn.Module):
    """A bidirectional LSTM over the word embeddings; the final hidden states of both directions,
    concatenated, go through dropout into a linear layer.

    The embedded batch is packed (``pack_padded_sequence``), so the forward direction stops at each
    sentence's last word and the backward direction starts there, never reading padding.

    Parameters
    ----------
    vocab_size : int
    embed_dim : int, default 50
    hidden_size : int, default 32
        Per direction.
    n_classes : int, default 2
    dropout : float, default 0.5
        Applied to the concatenated final states.
    pad_id : int, default 0
    """

    def __init__(self, vocab_size: int, embed_dim: int = 50, hidden_size: int = 32, n_classes: int = 2,
                 dropout: float = 0.5, pad_id: int = 0) -> None:
        super().__init__()
        _check_common(vocab_size, embed_dim, n_classes, dropout, pad_id)
        _positive_int("hidden_size", hidden_size)
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden_size, n_classes)

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """The concatenated final hidden states ``(N, 2 * hidden_size)``: forward, then backward."""
        _check_ids(ids)
        lengths = (ids != self.pad_id).sum(dim=1).clamp(min=1).cpu()  # packing wants CPU lengths
        packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)                                  # h_n: (2, N, H)
        return torch.cat([h_n[0], h_n[1]], dim=1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(ids)))
