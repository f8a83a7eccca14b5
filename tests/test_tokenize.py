"""Cleaning a book, splitting sentences and training subword tokenizers (dlbook.data.tokenize)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import bundle_dir

from dlbook.data.tokenize import (ABBREVIATIONS, SPECIAL_TOKENS, book_sentences, clean_book,
                                  split_sentences, train_tokenizer)

BUNDLE = bundle_dir()
needs_bundle = pytest.mark.skipif(BUNDLE is None, reason="no offline data bundle on this machine")

BOOK = """[Illustration]

A Small Book

Contents

 CHAPTER I.     The Start
 CHAPTER II.    The End


CHAPTER I.
The Start


It was a \u201cvery\u201d _odd
and_ strange day, said
Mr. Fox. Nobody\u2019s fault.

*      *      *

CHAPTER II.
The End

\u201cWhere?\u201d Ann asked.

THE END
"""

CORPUS = ["the rabbit ran down the rabbit hole", "the hatter and the hare had tea",
          "alice followed the white rabbit", "unhappy rabbits are rarely happy",
          "happily the hare ran home"] * 20


def test_clean_book_keeps_the_story_as_one_paragraph_per_line():
    assert clean_book(BOOK) == ('It was a "very" odd and strange day, said Mr. Fox. '
                               'Nobody\'s fault.\n"Where?" Ann asked.')
    assert clean_book("Title\n\nChapter I\nOne\n\nText\nhere.\n") == "Text here."


def test_clean_book_bad_input():
    with pytest.raises(ValueError, match="chapter heading"):
        clean_book("No chapters here.\n")
    with pytest.raises(TypeError, match="text"):
        clean_book(b"CHAPTER I.\n")


def test_split_sentences_rule_and_exceptions():
    text = ('It was odd. "Very odd!" she said. Then Mr. Fox met L. Frank Baum. '
            "A pause... 3 hares came (slowly). [Aside.] The end\nA new paragraph? yes.")
    assert split_sentences(text) == [
        "It was odd.", '"Very odd!" she said.', "Then Mr. Fox met L. Frank Baum.", "A pause...",
        "3 hares came (slowly).", "[Aside.]", "The end", "A new paragraph? yes."]
    # the documented failure: a question mark before a capitalised speaker ends the sentence
    assert split_sentences('"Where?" Ann asked.') == ['"Where?"', "Ann asked."]
    # without the list, abbreviations end sentences (initials are still protected)
    assert split_sentences("Mr. Fox met L. Baum.", abbreviations=()) == ["Mr.", "Fox met L. Baum."]
    assert "Mr" in ABBREVIATIONS and split_sentences("  \n\n") == []


def test_split_sentences_bad_input():
    with pytest.raises(TypeError, match="abbreviations"):
        split_sentences("A. B.", abbreviations="Mr")
    with pytest.raises(TypeError, match="text"):
        split_sentences(["A sentence."])


@needs_bundle
@pytest.mark.parametrize("name, first, last", [
    ("alice", "Alice was beginning to get very tired", "and the happy summer days."),
    ("oz", "Dorothy lived in the midst of the great Kansas prairies", 'to be at home again!"'),
])
def test_book_sentences_of_the_bundled_books(name, first, last):
    sentences = book_sentences(name, root=BUNDLE, download=False)
    assert sentences[0].startswith(first) and sentences[-1].endswith(last)
    assert 1_000 < len(sentences) < 3_000 and all(s == s.strip() and s for s in sentences)
    text = " ".join(sentences)
    assert "\u201c" not in text and "\u2019" not in text and "[Illustration]" not in text
    assert not any(s.endswith(("Mr.", " W.")) for s in sentences)


@pytest.mark.parametrize("kind", ["bpe", "wordpiece"])
def test_bert_style_tokenizers(kind):
    tok = train_tokenizer(CORPUS, kind=kind, vocab_size=60)
    assert len(tok) <= 60 and [tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert (tok.pad_token, tok.unk_token, tok.cls_token, tok.sep_token, tok.mask_token) == SPECIAL_TOKENS
    ids = tok("The rabbit")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.decode(ids, skip_special_tokens=True) == "the rabbit"      # lower-cased
    assert "rabbit" in "".join(tok.tokenize("rabbit")).replace("##", "").replace("</w>", "")
    assert tok.tokenize("z")[0] == "[UNK]"                                # never seen in training
    pair = tok("the hare", "ran home")
    assert pair["token_type_ids"].count(1) == len(tok.tokenize("ran home")) + 1


@pytest.mark.parametrize("kind", ["bpe", "wordpiece"])
def test_a_known_character_can_be_spelled_anywhere_in_a_word(kind):
    # "z" occurs only inside words here, never at the start or the end of one
    tok = train_tokenizer(["the lazy dozen", "a hazy oak"] * 10, kind=kind, vocab_size=40)
    for word in ("oz", "zoo", "ozo"):
        assert tok.unk_token not in tok.tokenize(word), word
    assert tok.tokenize("jazz")[0] == "[UNK]"                     # "j" was never seen


def test_subwords_shrink_as_the_vocabulary_grows():
    counts = [len(train_tokenizer(CORPUS, vocab_size=size).tokenize("unhappy rabbits"))
              for size in (30, 45, 200)]
    assert counts[0] > counts[1] > counts[2] == 2       # whole words at last


def test_byte_level_bpe_round_trips_any_text():
    tok = train_tokenizer(CORPUS, kind="byte-bpe", vocab_size=300, lowercase=False)
    text = "The Rabbit \u2014 na\u00efve caf\u00e9 \U0001F642!"
    ids = tok(text)["input_ids"]
    assert tok.decode(ids) == text and tok.unk_token_id not in ids     # no unknowns
    assert len(tok) <= 300 and tok.convert_tokens_to_ids("<|endoftext|>") == 0
    assert tok.eos_token == "<|endoftext|>" and tok.pad_token is None
    assert "\u0120rabbit" in tok.get_vocab()                 # a space is kept as "Ġ"


def test_padding_truncation_and_attention_masks():
    tok = train_tokenizer(CORPUS, vocab_size=80)
    batch = tok(["the rabbit", "the hatter and the hare had tea with alice"], padding=True,
                truncation=True, max_length=6, return_tensors="pt")
    assert batch["input_ids"].shape == (2, 6) and batch["input_ids"].dtype.is_floating_point is False
    assert batch["attention_mask"].tolist()[0] == [1, 1, 1, 1, 0, 0]
    assert batch["input_ids"][0, 4:].tolist() == [tok.pad_token_id] * 2
    assert batch["input_ids"][1, -1].item() == tok.sep_token_id         # truncation keeps [SEP]


def test_training_repeats_exactly_in_a_fresh_process():
    """tokenizers numbers "##x" symbols in hash order; train_tokenizer must not depend on it."""
    code = ("import json, sys; from dlbook.data.tokenize import train_tokenizer; "
            "texts = json.load(sys.stdin); out = {}\n"
            "for kind in ('wordpiece', 'bpe'):\n"
            "    out[kind] = sorted(train_tokenizer(texts, kind=kind, vocab_size=120,"
            " min_frequency=1).get_vocab().items())\n"
            "print(json.dumps(out))")
    texts = json.dumps([f"{w} {w}s {w}ed un{w}" for w in
                        ("jump", "walk", "talk", "play", "hop", "skip", "look", "cook")] * 3)
    runs = [subprocess.run([sys.executable, "-c", code], input=texts, capture_output=True, text=True,
                           check=True).stdout for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(kind="unigram"), ValueError, "kind"),
    (dict(vocab_size=0), ValueError, "vocab_size"),
    (dict(vocab_size=10.0), ValueError, "vocab_size"),
    (dict(min_frequency=-1), ValueError, "min_frequency"),
    (dict(special_tokens=["[PAD]", "[PAD]"]), ValueError, "special_tokens"),
])
def test_train_tokenizer_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        train_tokenizer(CORPUS, **kwargs)


def test_train_tokenizer_needs_a_collection_of_texts():
    with pytest.raises(TypeError, match="texts"):
        train_tokenizer("one long string")
    with pytest.raises(TypeError, match="texts"):
        train_tokenizer([])
