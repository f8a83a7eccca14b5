"""From raw text to tokens: cleaning a book, splitting sentences, training subword tokenizers.

>>> from dlbook.data import load_book
>>> sentences = split_sentences(clean_book(load_book("alice")))
>>> sentences[0][:32]
'Alice was beginning to get very '
>>> tokenizer = train_tokenizer(sentences, kind="wordpiece", vocab_size=2000)
>>> tokenizer.tokenize("Alice was unbelievably tired")[:3]
['alice', 'was', 'un']

Everything here runs offline: the sentence splitter is a handful of regular-expression rules (no
downloaded model), and the tokenizers are trained on the texts you pass with Hugging Face
``tokenizers``, then wrapped as ``transformers`` tokenizers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

__all__ = ["ABBREVIATIONS", "SPECIAL_TOKENS", "TOKENIZER_KINDS", "book_sentences", "clean_book",
           "split_sentences", "train_tokenizer"]

#: Words that end with a full stop without ending a sentence (compared without the stop).
ABBREVIATIONS = frozenset({"Mr", "Mrs", "Ms", "Dr", "St", "Mt", "Jr", "Sr", "Prof", "vs"})

#: The special tokens of a BERT-style vocabulary, in the order of their ids (``[PAD]`` is id 0).
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

#: The tokenizer families :func:`train_tokenizer` knows.
TOKENIZER_KINDS = ("bpe", "wordpiece", "byte-bpe")

_HEADING = re.compile(r"chapter [ivxlc]+\.?", re.IGNORECASE)
# curly quotes become straight ones; underscores (which mark _italics_ in Gutenberg's plain text,
# sometimes across a line break) are deleted
_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "_": None})
_DROPPED_LINES = {"[Illustration]", "THE END"}
# a run of ., ! or ?, then closing quotes or brackets, then space, then (after opening quotes or
# brackets) a capital letter or a digit: the one boundary rule of split_sentences
_BOUNDARY = re.compile(r"""([.!?]+)(["')\]]*)\s+(?=["'(\[]*[A-Z0-9])""")


def clean_book(text: str) -> str:
    """The story of a bundled Gutenberg book as plain text, one paragraph per line.

    Written for the layout of the books :func:`dlbook.data.load_book` returns: the text starts at
    the first chapter heading that stands alone on its line (``"CHAPTER I."`` or ``"Chapter I"``,
    so the table of contents and any preface are dropped); every chapter heading and the title line
    after it are removed, as are ``[Illustration]`` markers, ``"THE END"`` and lines of asterisks.
    Curly quotes become straight ones, underscores (Gutenberg's mark for italics) are deleted,
    and the lines of each paragraph are joined with single spaces.

    Parameters
    ----------
    text : str
        The book as :func:`dlbook.data.load_book` returns it.

    Returns
    -------
    str
        Paragraphs separated by ``"\\n"``, without empty lines.

    Raises
    ------
    ValueError
        If ``text`` has no chapter heading of that form.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    lines = [line.strip() for line in text.split("\n")]
    starts = [i for i, line in enumerate(lines) if _HEADING.fullmatch(line)]
    if not starts:
        raise ValueError("text must contain a chapter heading such as 'CHAPTER I.' on a line of its own")
    kept, after_heading = [], False
    for line in lines[starts[0]:]:
        if _HEADING.fullmatch(line):
            after_heading = True  # the chapter's title follows on the next non-empty line
            continue
        if after_heading and line:
            after_heading = False
            continue
        if line in _DROPPED_LINES or (line and set(line) <= {"*", " "}):
            line = ""
        kept.append(line)
    body = "\n".join(kept).translate(_TYPOGRAPHY)
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", body))
    return "\n".join(p for p in paragraphs if p)


def split_sentences(text: str, *, abbreviations: Iterable[str] = ABBREVIATIONS) -> list[str]:
    """Split text into sentences with one regular-expression rule and two exceptions.

    A sentence ends at a run of ``.``, ``!`` or ``?`` (with any closing quotes or brackets after
    it) that is followed by white space and then a capital letter or a digit, possibly behind
    opening quotes or brackets. Line breaks always end a sentence (paragraphs, as
    :func:`clean_book` writes them). The exceptions: a single ``.`` right after a word in
    ``abbreviations`` (``"Mr. Joker"``) or after a single capital letter (an initial, ``"L. Frank
    Baum"``) does not end a sentence.

    Parameters
    ----------
    text : str
        Running text; ``"\\n"`` separates paragraphs.
    abbreviations : iterable of str, default :data:`ABBREVIATIONS`
        Words, without their full stop, after which a full stop does not end a sentence.

    Returns
    -------
    list of str
        The sentences in order, stripped, none empty.

    Notes
    -----
    The rule is blind to meaning, so it fails in predictable ways: ``"Where is it?" Alice asked.``
    becomes two sentences, and a sentence that really ends with an abbreviation or an initial is
    joined to the next one.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if isinstance(abbreviations, str):
        raise TypeError("abbreviations must be a collection of words, not a single str")
    abbreviations = frozenset(abbreviations)
    sentences = []
    for paragraph in text.split("\n"):
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            word = paragraph[start:match.start()].rsplit(None, 1)[-1].lstrip("\"'([")
            if match.group(1) == "." and not match.group(2) and (
                    word in abbreviations or re.fullmatch(r"[A-Z]", word)):
                continue
            sentences.append(paragraph[start:match.end(2)].strip())
            start = match.end()
        sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def book_sentences(name: str, **kwargs) -> list[str]:
    """The sentences of a bundled book: :func:`~dlbook.data.load_book`, :func:`clean_book`, then
    :func:`split_sentences`.

    Parameters
    ----------
    name : {"alice", "oz"}
        The book.
    **kwargs
        Passed to :func:`~dlbook.data.load_book` (``root``, ``download``).
    """
    from .text import load_book

    return split_sentences(clean_book(load_book(name, **kwargs)))


def _marked_symbols(tokenizer, texts: Sequence[str], prefix: str | None,
                    suffix: str | None) -> list[str]:
    """The marked one-character symbols (``"##e"``, ``"e</w>"``) to declare before training.

    Every character that occurs in a word of two or more characters gets its marked forms (with
    the continuation prefix, with the end-of-word suffix, or both), whether or not it occurs in
    that position in ``texts``: so any character seen in training can be spelled anywhere in a
    word, and only characters never seen become unknown.

    Declaring them up front also fixes their ids. ``tokenizers`` (up to at least 0.23) numbers
    these symbols in hash-map order, which changes from run to run, and breaks ties between
    equally frequent merges by those numbers, so the same texts could otherwise give a different
    vocabulary in each run (huggingface/tokenizers issue #1794).
    """
    if not prefix and not suffix:
        return []
    # BERT's pre-tokenizer first splits at white space, so pre-tokenizing each distinct
    # white-space chunk once sees every word that training sees (and is much faster)
    joined = "\n".join(texts)
    if tokenizer.normalizer is not None:
        joined = tokenizer.normalizer.normalize_str(joined)
    chunks = " ".join(sorted(set(joined.split())))
    chars = {c for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(chunks) if len(word) > 1
             for c in word}
    symbols = set()
    for char in chars:
        forms = [char, prefix + char] if prefix else [char]
        symbols.update(forms + ([form + suffix for form in forms] if suffix else []))
    return sorted(symbols - chars)


def train_tokenizer(texts: Iterable[str], kind: str = "wordpiece", vocab_size: int = 4000, *,
                    min_frequency: int = 2, lowercase: bool = True,
                    special_tokens: Sequence[str] | None = None, model_max_length: int = 512):
    """Train a subword tokenizer on ``texts`` and wrap it for ``transformers``.

    Parameters
    ----------
    texts : iterable of str
        The training texts (for instance sentences).
    kind : {"bpe", "wordpiece", "byte-bpe"}, default "wordpiece"
        ``"wordpiece"``: BERT's scheme, with ``##`` marking a piece that continues a word and
        greedy longest-match-first encoding. ``"bpe"``: byte-pair encoding over characters with
        ``</w>`` marking the end of a word (Sennrich et al.'s original scheme); encoding replays
        the learned merges. Both split words at white space and punctuation first (BERT's
        pre-tokenizer) and map characters never seen in training to ``[UNK]``. ``"byte-bpe"``:
        GPT-2's byte-level BPE, whose 256 byte symbols spell any text, so it has no unknown token;
        a space is kept as ``"Ġ"`` at the start of the following word.
    vocab_size : int, default 4000
        Upper bound on the vocabulary, special tokens included. Training stops earlier when no
        pair occurs ``min_frequency`` times any more.
    min_frequency : int, default 2
        A pair must occur at least this often to be merged.
    lowercase : bool, default True
        Lower-case the text first (for ``"bpe"`` and ``"wordpiece"`` this also strips accents,
        as BERT's uncased normaliser does).
    special_tokens : sequence of str, optional
        Tokens with reserved ids, numbered first. Default :data:`SPECIAL_TOKENS` for ``"bpe"`` and
        ``"wordpiece"`` (with ``[CLS] ... [SEP]`` added around every input, and
        ``[CLS] A [SEP] B [SEP]`` around pairs), and ``("<|endoftext|>",)`` for ``"byte-bpe"``
        (added to nothing, as in GPT-2; it is the tokenizer's ``bos``, ``eos`` and ``unk`` token
        and there is no padding token until you set one).
    model_max_length : int, default 512
        The length ``truncation=True`` cuts to when no ``max_length`` is given.

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        Callable on a string or a batch, with ``padding``, ``truncation`` and
        ``return_tensors``; the special-token attributes (``pad_token``, ``unk_token``,
        ``cls_token``, ``sep_token``, ``mask_token``) are set for the tokens present.

    Notes
    -----
    Every character that occurs inside a word of the training texts can be spelled at any
    position of a word (for ``"wordpiece"`` the vocabulary holds ``"##c"`` and for ``"bpe"``
    ``"c</w>"`` for each such character ``c``), so only characters never seen in training are
    unknown. Training is deterministic: the same texts and arguments give the same vocabulary and
    ids in every run (see ``_marked_symbols`` for the tie-breaking this works around).
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if kind not in TOKENIZER_KINDS:
        raise ValueError(f"kind must be one of {TOKENIZER_KINDS}, got {kind!r}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 0:
        raise ValueError(f"min_frequency must be a non-negative int, got {min_frequency!r}")
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of str (for instance a list of sentences), not a str")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a non-empty iterable of str")
    if special_tokens is None:
        special_tokens = SPECIAL_TOKENS if kind != "byte-bpe" else ("<|endoftext|>",)
    special_tokens = list(special_tokens)
    distinct = len(set(special_tokens)) == len(special_tokens)
    if not distinct or not all(isinstance(t, str) and t for t in special_tokens):
        raise ValueError(f"special_tokens must be distinct non-empty strings, got {special_tokens!r}")
    unk = "[UNK]" if "[UNK]" in special_tokens else None

    prefix = suffix = None
    if kind == "wordpiece":
        prefix = "##"
        tokenizer = Tokenizer(models.WordPiece(unk_token=unk or "[UNK]", continuing_subword_prefix=prefix))
        tokenizer.decoder = decoders.WordPiece(prefix=prefix)
    elif kind == "bpe":
        suffix = "</w>"
        tokenizer = Tokenizer(models.BPE(unk_token=unk, end_of_word_suffix=suffix))
        tokenizer.decoder = decoders.BPEDecoder(suffix=suffix)
    else:
        tokenizer = Tokenizer(models.BPE())
        tokenizer.decoder = decoders.ByteLevel()
    if kind == "byte-bpe":
        tokenizer.normalizer = normalizers.Lowercase() if lowercase else None
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    else:
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()

    marked = _marked_symbols(tokenizer, texts, prefix, suffix)
    options = dict(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                   special_tokens=special_tokens + marked)
    if kind == "wordpiece":
        trainer = trainers.WordPieceTrainer(continuing_subword_prefix=prefix, **options)
    elif kind == "bpe":
        trainer = trainers.BpeTrainer(end_of_word_suffix=suffix, **options)
    else:
        trainer = trainers.BpeTrainer(initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), **options)
    tokenizer.train_from_iterator(texts, trainer)

    # The marked symbols were declared as special only to fix their ids: make them ordinary
    # vocabulary entries again (kept in the model's vocabulary, dropped from the added tokens).
    state = json.loads(tokenizer.to_str())
    state["added_tokens"] = [t for t in state["added_tokens"] if t["content"] in special_tokens]
    tokenizer = Tokenizer.from_str(json.dumps(state))

    names = {}
    if kind == "byte-bpe":
        if "<|endoftext|>" in special_tokens:
            names = dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    else:
        names = {attr: token for attr, token in (("pad_token", "[PAD]"), ("unk_token", "[UNK]"),
                                                  ("cls_token", "[CLS]"), ("sep_token", "[SEP]"),
                                                  ("mask_token", "[MASK]")) if token in special_tokens}
        if "[CLS]" in special_tokens and "[SEP]" in special_tokens:
            cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
            tokenizer.post_processor = processors.TemplateProcessing(
                single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    inputs = ["input_ids", "attention_mask"] if kind == "byte-bpe" else [
        "input_ids", "token_type_ids", "attention_mask"]
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=model_max_length,
                                      model_input_names=inputs, **names)
    # the pieces a word is split into are reported as found, without "clean-up" of spaces
    wrapped.clean_up_tokenization_spaces = False
    return wrapped
