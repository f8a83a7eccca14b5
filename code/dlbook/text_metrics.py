"""Metrics of generated text, written plainly: BLEU, ROUGE-N, ROUGE-L, exact match, token F1, perplexity.

The chapter *Working with Hugging Face models* computes each of them by hand once and checks it against
the library practitioners use (``sacrebleu``, ``rouge-score``, ``torchmetrics``); these functions are
that computation, tested against the same libraries, for the chapters that follow::

    from dlbook.text_metrics import bleu, exact_match, perplexity, rouge_l, rouge_n

    bleu(hypotheses, references).score      # corpus BLEU in [0, 1]; sacrebleu reports 100 times it
    rouge_n("the cat sat", "a cat sat down", n=2).fmeasure
    rouge_l(prediction, reference).fmeasure
    exact_match(["the Queen"], [["Queen", "Queen of Hearts"]])   # 1.0 after SQuAD normalisation
    perplexity(logits, targets)             # exp(mean negative log-likelihood per token)

Tokenisation is part of every text metric, and two numbers are comparable only if they were computed
with the same one. :func:`bleu` splits at white space (so a caller who wants sacrebleu's ``13a``
tokenisation passes text that is already tokenised that way, or a ``tokenize`` function); the ROUGE
functions tokenise as ``rouge-score`` does by default (:func:`rouge_tokenize`); exact match and token
F1 normalise answers as the SQuAD evaluation script does (:func:`normalize_answer`).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

__all__ = ["BleuResult", "RougeScore", "ngram_counts", "bleu", "rouge_tokenize", "rouge_n", "lcs_length",
           "rouge_l", "normalize_answer", "exact_match", "token_f1", "perplexity"]


class BleuResult(NamedTuple):
    """What :func:`bleu` returns.

    Attributes
    ----------
    score : float
        Corpus BLEU in ``[0, 1]`` (``sacrebleu`` reports ``100 * score``).
    precisions : tuple of float
        The modified (clipped) n-gram precision of each order ``1 ... max_order``, smoothed where
        ``smooth="exp"`` replaced a zero.
    brevity_penalty : float
        ``1`` when the hypotheses are at least as long as the references, ``exp(1 - r / c)`` otherwise.
    hyp_len : int
        Total number of hypothesis tokens ``c``.
    ref_len : int
        Total effective reference length ``r`` (for each hypothesis the reference length closest to
        its own, the shorter one on a tie).
    matches : tuple of int
        Clipped n-gram matches of each order, summed over the corpus.
    totals : tuple of int
        Hypothesis n-grams of each order, summed over the corpus.
    """

    score: float
    precisions: tuple[float, ...]
    brevity_penalty: float
    hyp_len: int
    ref_len: int
    matches: tuple[int, ...]
    totals: tuple[int, ...]


class RougeScore(NamedTuple):
    """Precision, recall and their harmonic mean (F-measure), as ``rouge-score`` reports them."""

    precision: float
    recall: float
    fmeasure: float


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _tokens(text, name: str, tokenize: Callable[[str], list[str]] | None = None) -> list[str]:
    """A text as a list of tokens: a str is tokenised, a sequence of str is taken as the tokens."""
    if isinstance(text, str):
        return list(tokenize(text)) if tokenize is not None else text.split()
    if isinstance(text, Sequence) and all(isinstance(t, str) for t in text):
        return list(text)
    raise TypeError(f"{name} must be a str or a sequence of str tokens, got {type(text).__name__}")


def ngram_counts(tokens: Sequence[str], n: int) -> Counter:
    """How often each n-gram (a tuple of ``n`` tokens) occurs in ``tokens``.

    Parameters
    ----------
    tokens : sequence of str
    n : int
        The order, at least 1.

    Returns
    -------
    collections.Counter
        Maps each n-gram tuple to its count; empty when ``tokens`` has fewer than ``n`` tokens.
    """
    _check_positive_int(n, "n")
    tokens = _tokens(tokens, "tokens")
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _fmeasure(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _pick_reference_length(hyp_len: int, ref_lens: list[int]) -> int:
    # the reference length closest to the hypothesis length; on a tie the shorter one (as sacrebleu)
    return min(ref_lens, key=lambda r: (abs(hyp_len - r), r))


def bleu(hypotheses: Sequence[str | Sequence[str]], references: Sequence[str | Sequence[str]], *,
         max_order: int = 4, smooth: str = "exp",
         tokenize: Callable[[str], list[str]] | None = None) -> BleuResult:
    """Corpus BLEU (Papineni et al., 2002): clipped n-gram precisions, their geometric mean and a
    brevity penalty.

    For every order ``n`` the clipped matches and the hypothesis n-grams are summed over the whole
    corpus before dividing, and the brevity penalty compares the total hypothesis length with the
    total effective reference length; so corpus BLEU is *not* the mean of sentence BLEUs. With the same
    tokenisation and ``smooth`` this equals ``sacrebleu.corpus_bleu(...).score / 100``.

    Parameters
    ----------
    hypotheses : sequence of str
        One system output per segment. A str is split at white space (or with ``tokenize``); a list
        of str is taken as already tokenised.
    references : sequence
        For each hypothesis, one reference (a str) or a list of references, each a str or a list of
        tokens (so a single tokenised reference is written ``[tokens]``). Note that ``sacrebleu``
        takes the transpose: one list per *reference set*, each holding one reference for every
        hypothesis.
    max_order : int, default 4
        The longest n-gram counted (BLEU-4 by default).
    smooth : {"exp", "none"}, default "exp"
        What to do with an order that has no match. ``"none"``: the score is 0. ``"exp"`` (sacrebleu's
        default, the NIST smoothing): the k-th order with no match gets precision
        ``1 / (2**k * total n-grams of that order)``.
    tokenize : callable, optional
        Turns a str into tokens; default ``str.split``.

    Returns
    -------
    BleuResult
        The score in ``[0, 1]`` and its parts.

    Raises
    ------
    ValueError
        If the lists are empty or of different lengths, or ``max_order``/``smooth`` is invalid.
    """
    _check_positive_int(max_order, "max_order")
    if smooth not in ("exp", "none"):
        raise ValueError(f"smooth must be 'exp' or 'none', got {smooth!r}")
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence):
        raise TypeError("hypotheses must be a list of segments (str or token lists), not a single str")
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError("references must be a list with one entry per hypothesis, not a single str")
    if len(hypotheses) == 0:
        raise ValueError("hypotheses must hold at least one segment")
    if len(hypotheses) != len(references):
        raise ValueError(f"references must hold one entry per hypothesis: got {len(references)} for "
                         f"{len(hypotheses)} hypotheses")
    matches, totals = [0] * max_order, [0] * max_order
    hyp_len = ref_len = 0
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
        hyp = _tokens(hyp, f"hypotheses[{i}]", tokenize)
        # one reference (a str) or several (a list whose items are str or token lists)
        if isinstance(refs, str):
            refs = [refs]
        elif not isinstance(refs, Sequence) or not refs:
            raise TypeError(f"references[{i}] must be a str or a non-empty list of references")
        refs = [_tokens(r, f"references[{i}]", tokenize) for r in refs]
        hyp_len += len(hyp)
        ref_len += _pick_reference_length(len(hyp), [len(r) for r in refs])
        for n in range(1, max_order + 1):
            hyp_counts = ngram_counts(hyp, n)
            most = Counter()  # the most often each n-gram occurs in any one reference
            for ref in refs:
                most |= ngram_counts(ref, n)
            matches[n - 1] += sum(min(count, most[g]) for g, count in hyp_counts.items())
            totals[n - 1] += sum(hyp_counts.values())

    brevity = 1.0 if hyp_len >= ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0)
    precisions, halvings = [], 1.0
    for m, t in zip(matches, totals):
        if t == 0:
            precisions.append(0.0)
        elif m == 0 and smooth == "exp" and any(matches):
            halvings *= 2
            precisions.append(1 / (halvings * t))
        else:
            precisions.append(m / t)
    if min(precisions) == 0.0:
        score = 0.0
    else:
        score = brevity * math.exp(sum(math.log(p) for p in precisions) / max_order)
    return BleuResult(score, tuple(precisions), brevity, hyp_len, ref_len, tuple(matches), tuple(totals))


_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def rouge_tokenize(text: str) -> list[str]:
    """Tokens as ``rouge-score``'s default tokenizer makes them (without stemming).

    The text is lower-cased, every run of characters other than ``a-z`` and ``0-9`` becomes a space,
    and the result is split at white space. Letters outside ``a-z`` (accented ones, for instance)
    are therefore separators too, exactly as in ``rouge-score``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _NON_ALPHANUMERIC.sub(" ", text.lower()).split()


def _rouge_tokens(text, name: str) -> list[str]:
    return rouge_tokenize(text) if isinstance(text, str) else _tokens(text, name)


def rouge_n(prediction: str | Sequence[str], reference: str | Sequence[str], n: int = 1) -> RougeScore:
    """ROUGE-N (Lin, 2004): n-gram overlap between a prediction and a reference.

    The overlap counts every n-gram as often as it occurs in *both* texts (the smaller count).
    Recall divides it by the reference's n-grams (ROUGE is recall-oriented: how much of the
    reference the prediction covers), precision by the prediction's n-grams.

    Parameters
    ----------
    prediction, reference : str or sequence of str
        A str is tokenised with :func:`rouge_tokenize`; a list of str is taken as the tokens.
    n : int, default 1
        The n-gram order (``rouge1``, ``rouge2``, ...).

    Returns
    -------
    RougeScore
        Equal to ``rouge_scorer.RougeScorer([f"rouge{n}"]).score(reference, prediction)`` (note that
        ``rouge-score`` takes the reference first).
    """
    _check_positive_int(n, "n")
    pred = ngram_counts(_rouge_tokens(prediction, "prediction"), n)
    ref = ngram_counts(_rouge_tokens(reference, "reference"), n)
    overlap = sum((pred & ref).values())
    precision = overlap / max(sum(pred.values()), 1)
    recall = overlap / max(sum(ref.values()), 1)
    return RougeScore(precision, recall, _fmeasure(precision, recall))


def lcs_length(a: Sequence, b: Sequence) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (dynamic programming, O(len a * len b)).

    A subsequence keeps the order of its elements but need not be contiguous: the LCS of
    ``"the cat sat on the mat"`` and ``"the cat on a mat"`` is ``the cat on mat`` (length 4).
    """
    if isinstance(a, str) or isinstance(b, str):
        raise TypeError("a and b must be sequences of tokens (lists), not str")
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str | Sequence[str], reference: str | Sequence[str]) -> RougeScore:
    """ROUGE-L (Lin, 2004): the longest common subsequence of prediction and reference.

    Precision is ``LCS / len(prediction)``, recall ``LCS / len(reference)``, and the F-measure their
    harmonic mean. The texts are treated as one sequence each (``rouge-score``'s ``rougeL``, not the
    sentence-by-sentence ``rougeLsum``).

    Parameters
    ----------
    prediction, reference : str or sequence of str
        A str is tokenised with :func:`rouge_tokenize`.
    """
    pred = _rouge_tokens(prediction, "prediction")
    ref = _rouge_tokens(reference, "reference")
    if not pred or not ref:
        return RougeScore(0.0, 0.0, 0.0)
    lcs = lcs_length(pred, ref)
    precision, recall = lcs / len(pred), lcs / len(ref)
    return RougeScore(precision, recall, _fmeasure(precision, recall))


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Normalise an answer as the SQuAD evaluation script does.

    Lower-case, delete ASCII punctuation, delete the articles *a*, *an* and *the*, and collapse
    white space: ``"The  Queen of Hearts!"`` becomes ``"queen of hearts"``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _answer_lists(predictions, references) -> list[tuple[str, list[str]]]:
    if isinstance(predictions, str) or not isinstance(predictions, Sequence):
        raise TypeError("predictions must be a list of str, not a single str")
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError("references must be a list with one entry per prediction, not a single str")
    if len(predictions) == 0:
        raise ValueError("predictions must hold at least one answer")
    if len(predictions) != len(references):
        raise ValueError(f"references must hold one entry per prediction: got {len(references)} for "
                         f"{len(predictions)} predictions")
    pairs = []
    for i, (pred, refs) in enumerate(zip(predictions, references)):
        if not isinstance(pred, str):
            raise TypeError(f"predictions[{i}] must be a str, got {type(pred).__name__}")
        refs = [refs] if isinstance(refs, str) else refs
        if not isinstance(refs, Sequence) or not refs or not all(isinstance(r, str) for r in refs):
            raise TypeError(f"references[{i}] must be a str or a non-empty list of str")
        pairs.append((pred, list(refs)))
    return pairs


def exact_match(predictions: Sequence[str], references: Sequence[str | Sequence[str]]) -> float:
    """Share of predictions equal to one of their reference answers after :func:`normalize_answer`.

    Parameters
    ----------
    predictions : sequence of str
        One answer per question.
    references : sequence
        For each question one acceptable answer (str) or a list of them; the best one counts.

    Returns
    -------
    float
        In ``[0, 1]``; ``torchmetrics``' SQuAD metric reports 100 times it.
    """
    pairs = _answer_lists(predictions, references)
    hits = [max(normalize_answer(p) == normalize_answer(r) for r in refs) for p, refs in pairs]
    return sum(hits) / len(hits)


def _pair_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)   # both empty: agree; one empty: nothing in common
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    return _fmeasure(common / len(pred), common / len(ref))


def token_f1(predictions: Sequence[str], references: Sequence[str | Sequence[str]]) -> float:
    """SQuAD's F1: the harmonic mean of token precision and recall between a predicted and a reference
    answer (after :func:`normalize_answer`), the best reference per question, averaged over questions.

    Partial answers get partial credit: ``"the garden"`` against ``"garden party"`` scores 2/3.

    Parameters
    ----------
    predictions, references
        As for :func:`exact_match`.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    pairs = _answer_lists(predictions, references)
    return sum(max(_pair_f1(p, r) for r in refs) for p, refs in pairs) / len(pairs)


def perplexity(logits: torch.Tensor, targets: torch.Tensor, *, ignore_index: int = -100) -> float:
    """Perplexity ``exp(mean negative log-likelihood)`` of the target tokens under the logits.

    The logits must already be aligned with the targets (for a causal language model: the logits
    at positions ``0 ... T-2`` and the tokens at ``1 ... T-1``). A model that spreads its probability
    evenly over ``V`` tokens has perplexity ``V``; a perfect one has perplexity 1.

    Parameters
    ----------
    logits : torch.Tensor
        Floating point, shape ``(..., V)``.
    targets : torch.Tensor
        Integer token ids of shape ``logits.shape[:-1]``; entries equal to ``ignore_index`` (for
        instance padding) are left out of the mean.
    ignore_index : int, default -100
        The label value ``transformers`` uses for positions without a target.

    Returns
    -------
    float
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("logits and targets must be tensors")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be floating point, got dtype {logits.dtype}")
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise TypeError(f"targets must hold integer token ids, got dtype {targets.dtype}")
    if logits.ndim < 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(f"logits must have shape targets.shape + (V,) = {tuple(targets.shape)} + (V,), "
                         f"got {tuple(logits.shape)}")
    keep = targets != ignore_index
    if not bool(keep.any()):
        raise ValueError("no target left to score: every target equals ignore_index")
    log_probs = torch.log_softmax(logits[keep].double(), dim=-1)
    nll = -log_probs.gather(-1, targets[keep].long().unsqueeze(-1)).mean()
    return math.exp(float(nll))
