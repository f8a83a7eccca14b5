"""The real all-MiniLM-L6-v2 from its PyPI wheel: found, verified and loaded offline."""

from __future__ import annotations

import pytest
import torch

from dlbook.models import pretrained
from dlbook.models.pretrained import minilm_path

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def minilm():
    path = minilm_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()
    return tokenizer, model


def test_it_is_the_published_six_layer_bert(minilm):
    tokenizer, model = minilm
    assert model.config.model_type == "bert" and model.config.num_hidden_layers == 6
    assert model.config.hidden_size == 384 and len(tokenizer) == 30522
    n = sum(p.numel() for p in model.parameters())
    assert 22.5e6 < n < 22.9e6                              # 22.7M parameters
    assert tokenizer.tokenize("Unbelievable tokenisation") == ["unbelievable", "token", "##isation"]


def test_its_sentence_embeddings_know_meaning(minilm):
    tokenizer, model = minilm
    sentences = ["A cat sits on the mat.", "A kitten is resting on a rug.",
                 "The stock market fell sharply today."]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
    similar, unrelated = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert similar > 0.5 > unrelated + 0.2


def test_a_different_weights_file_is_refused(monkeypatch):
    monkeypatch.setattr(pretrained, "MINILM_SAFETENSORS_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="not the published"):
        minilm_path()
