"""The plain text metrics of dlbook.text_metrics against sacrebleu, rouge-score and torchmetrics."""

from __future__ import annotations

import math
import random

import pytest
import torch

from dlbook.text_metrics import (BleuResult, RougeScore, bleu, exact_match, lcs_length, ngram_counts,
                                 normalize_answer, perplexity, rouge_l, rouge_n, rouge_tokenize, token_f1)

sacrebleu = pytest.importorskip("sacrebleu")
rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")

WORDS = "the a cat dog sat on mat rug quickly and ran away home red big".split()


def _sentence(rng: random.Random, low: int = 1, high: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _corpus(seed: int, n: int, n_refs: int):
    rng = random.Random(seed)
    hyps = [_sentence(rng) for _ in range(n)]
    refs = [[_sentence(rng) for _ in range(n_refs)] for _ in range(n)]
    return hyps, refs


def test_ngram_counts():
    counts = ngram_counts("the cat the cat".split(), 2)
    assert counts == {("the", "cat"): 2, ("cat", "the"): 1}
    assert ngram_counts(["a"], 2) == {}
    with pytest.raises(ValueError, match="n must be"):
        ngram_counts(["a"], 0)


def test_clipping_of_the_papers_example():
    # Papineni et al.'s example: the plain unigram precision would be 7/7
    result = bleu(["the the the the the the the"], [["the cat is on the mat", "there is a cat on the mat"]],
                  max_order=1)
    assert result.matches[0] == 2 and result.totals[0] == 7
    assert result.precisions[0] == pytest.approx(2 / 7)


@pytest.mark.parametrize("smooth", ["exp", "none"])
@pytest.mark.parametrize("n_refs", [1, 3])
@pytest.mark.parametrize("seed", range(6))
def test_bleu_equals_sacrebleu_on_random_corpora(seed, n_refs, smooth):
    hyps, refs = _corpus(seed, n=8, n_refs=n_refs)
    ours = bleu(hyps, refs, smooth=smooth)
    streams = [list(r) for r in zip(*refs)]   # sacrebleu: one list per reference set
    theirs = sacrebleu.corpus_bleu(hyps, streams, tokenize="none", smooth_method=smooth)
    assert isinstance(ours, BleuResult)
    assert ours.score * 100 == pytest.approx(theirs.score, abs=1e-9)
    assert ours.brevity_penalty == pytest.approx(theirs.bp)
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert list(ours.matches) == list(theirs.counts) and list(ours.totals) == list(theirs.totals)
    if ours.score > 0:
        assert [100 * p for p in ours.precisions] == pytest.approx(theirs.precisions)


def test_bleu_with_sacrebleus_13a_tokenisation_and_token_lists():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    hyps = ["The cat, it sat on the mat.", "It rained all day!"]
    refs = ["The cat sat on the mat.", "It was raining all day."]
    theirs = sacrebleu.corpus_bleu(hyps, [refs])   # default: 13a, exp smoothing
    ours = bleu(hyps, refs, tokenize=lambda s: Tokenizer13a()(s).split())
    assert ours.score * 100 == pytest.approx(theirs.score)
    tokens = bleu([h.split() for h in hyps], [[r.split()] for r in refs])
    assert tokens == bleu(hyps, refs)


def test_bleu_identity_brevity_and_zero():
    sentence = "alice was beginning to get very tired of sitting"
    assert bleu([sentence], [sentence]).score == pytest.approx(1.0)
    short = bleu(["alice was beginning to get"], [sentence])
    assert short.precisions == pytest.approx((1.0,) * 4)
    assert short.brevity_penalty == pytest.approx(math.exp(1 - 9 / 5))
    assert bleu(["completely different words here"], [sentence]).score == 0.0
    # a shorter reference wins a tie in distance
    assert bleu(["a b c d"], [["a b c", "a b c d e"]]).ref_len == 3


def test_bleu_rejects_bad_input():
    with pytest.raises(ValueError, match="one entry per hypothesis"):
        bleu(["a b"], ["a b", "c d"])
    with pytest.raises(ValueError, match="at least one"):
        bleu([], [])
    with pytest.raises(TypeError, match="single str"):
        bleu("a b", ["a b"])
    with pytest.raises(ValueError, match="smooth"):
        bleu(["a"], ["a"], smooth="floor")
    with pytest.raises(ValueError, match="max_order"):
        bleu(["a"], ["a"], max_order=0)
    with pytest.raises(TypeError, match="references\\[0\\]"):
        bleu(["a"], [[]])


def test_rouge_tokenize_matches_rouge_score():
    from rouge_score.tokenize import tokenize

    text = "Alice's   cat -- 'Dinah' -- sat; 3 mice ran (quickly)!"
    assert rouge_tokenize(text) == tokenize(text, None)


@pytest.mark.parametrize("seed", range(8))
def test_rouge_equals_rouge_score_on_random_pairs(seed):
    rng = random.Random(100 + seed)
    prediction, reference = _sentence(rng, 0, 16), _sentence(rng, 0, 16)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    theirs = scorer.score(reference, prediction)   # rouge-score: reference first
    for name, ours in [("rouge1", rouge_n(prediction, reference, 1)), ("rouge2", rouge_n(prediction, reference, 2)),
                       ("rougeL", rouge_l(prediction, reference))]:
        assert isinstance(ours, RougeScore)
        assert tuple(ours) == pytest.approx(tuple(theirs[name])), name


def test_rouge_by_hand():
    score = rouge_n("the cat sat", "the cat sat down", 1)
    assert score == pytest.approx((1.0, 0.75, 2 * 0.75 / 1.75))
    assert rouge_n("the cat", "a dog", 2).fmeasure == 0.0
    assert lcs_length("the cat sat on the mat".split(), "the cat on a mat".split()) == 4
    assert rouge_l("", "the cat") == (0.0, 0.0, 0.0)
    with pytest.raises(TypeError, match="not str"):
        lcs_length("abc", "abd")
    with pytest.raises(TypeError, match="prediction"):
        rouge_n(3, "a")


def test_normalize_answer():
    assert normalize_answer("The  Queen of Hearts!") == "queen of hearts"
    assert normalize_answer("an apple, a pear") == "apple pear"
    with pytest.raises(TypeError):
        normalize_answer(None)


def test_exact_match_and_f1_equal_torchmetrics_squad():
    from torchmetrics.functional.text import squad

    predictions = ["The Queen of Hearts", "a white rabbit", "in the garden", "Dinah", "tea"]
    references = [["Queen of Hearts", "the Queen"], ["the White Rabbit"], ["garden party"], ["her cat Dinah"],
                  ["a tea party", "tea"]]
    preds = [{"prediction_text": p, "id": str(i)} for i, p in enumerate(predictions)]
    target = [{"answers": {"answer_start": [0] * len(r), "text": r}, "id": str(i)} for i, r in enumerate(references)]
    theirs = squad(preds, target)
    assert 100 * exact_match(predictions, references) == pytest.approx(float(theirs["exact_match"]), abs=1e-4)
    assert 100 * token_f1(predictions, references) == pytest.approx(float(theirs["f1"]), abs=1e-4)
    assert exact_match(["Dinah"], ["dinah."]) == 1.0
    assert token_f1(["the garden"], ["garden party"]) == pytest.approx(2 / 3)


def test_answer_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="one entry per prediction"):
        exact_match(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        token_f1([], [])
    with pytest.raises(TypeError, match="predictions\\[0\\]"):
        exact_match([1], ["a"])
    with pytest.raises(TypeError, match="references\\[0\\]"):
        exact_match(["a"], [[]])


def test_perplexity_of_uniform_and_of_a_real_model_loss():
    vocab = 50
    assert perplexity(torch.zeros(7, vocab), torch.arange(7)) == pytest.approx(vocab)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 9, vocab, generator=g)
    targets = torch.randint(vocab, (2, 9), generator=g)
    expected = math.exp(torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1)).item())
    assert perplexity(logits, targets) == pytest.approx(expected, rel=1e-6)
    # ignored positions leave the mean
    masked = targets.clone()
    masked[:, 5:] = -100
    expected = math.exp(torch.nn.functional.cross_entropy(logits[:, :5].reshape(-1, vocab),
                                                          targets[:, :5].reshape(-1)).item())
    assert perplexity(logits, masked) == pytest.approx(expected, rel=1e-6)


def test_perplexity_equals_exp_of_a_causal_lm_loss():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=40, n_positions=16, n_embd=16, n_layer=1, n_head=2)
    model = transformers.GPT2LMHeadModel(config).eval()
    ids = torch.randint(40, (3, 12))
    with torch.no_grad():
        out = model(input_ids=ids, labels=ids)
    # the model shifts the labels itself; we align by hand
    ours = perplexity(out.logits[:, :-1], ids[:, 1:])
    assert ours == pytest.approx(math.exp(out.loss.item()), rel=1e-5)


def test_perplexity_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        perplexity(torch.zeros(3, 5), torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match="floating"):
        perplexity(torch.zeros(3, 5, dtype=torch.long), torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        perplexity(torch.zeros(3, 5), torch.zeros(3))
    with pytest.raises(ValueError, match="no target"):
        perplexity(torch.zeros(3, 5), torch.full((3,), -100))
