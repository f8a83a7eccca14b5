"""Tests of dlbook.models.gpt: shapes, the causal mask, learning, seeded sampling, context cropping,
the batch helpers, bad configurations, and CUDA when there is one."""

import pytest
import torch

from dlbook.models.gpt import GPT, Block, CausalSelfAttention, GPTConfig, estimate_loss, random_blocks

V = 11


def tiny(**kw) -> GPTConfig:
    sizes = dict(vocab_size=V, block_size=8, n_embd=16, n_head=2, n_layer=2, dropout=0.0)
    sizes.update(kw)
    return GPTConfig(**sizes)


def model(seed: int = 0, **kw) -> GPT:
    torch.manual_seed(seed)
    return GPT(tiny(**kw))


def test_forward_shapes_and_loss():
    m = model()
    idx = torch.randint(V, (3, 8), generator=torch.Generator().manual_seed(0))
    logits, loss = m(idx)
    assert logits.shape == (3, 8, V) and loss is None
    logits, loss = m(idx, idx)
    assert loss.ndim == 0 and torch.isfinite(loss)
    # small N(0, 0.02) init: the first loss is close to ln V (every token about equally likely)
    assert abs(loss.item() - torch.log(torch.tensor(float(V))).item()) < 0.1
    assert m(idx[:, :3])[0].shape == (3, 3, V)           # shorter contexts are fine


def test_parts_keep_the_shape_of_the_residual_stream():
    cfg = tiny()
    x = torch.randn(2, 5, 16)
    assert CausalSelfAttention(cfg)(x).shape == (2, 5, 16)
    assert Block(cfg)(x).shape == (2, 5, 16)


def test_causal_mask_no_position_sees_the_future():
    m = model().eval()
    idx = torch.randint(V, (2, 8), generator=torch.Generator().manual_seed(1))
    before = m(idx)[0]
    for t in range(7):
        changed = idx.clone()
        changed[:, t + 1:] = (changed[:, t + 1:] + 1) % V       # change every later token
        after = m(changed)[0]
        assert torch.equal(after[:, : t + 1], before[:, : t + 1]), f"position {t} saw the future"
        assert not torch.equal(after[:, t + 1:], before[:, t + 1:])


def test_a_few_adamw_steps_lower_the_loss():
    text = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 30)     # a repeating "corpus"
    m = model(dropout=0.1)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    start = estimate_loss(m, {"train": text}, batch_size=8, eval_iters=4,
                          generator=torch.Generator().manual_seed(5))["train"]
    for _ in range(40):
        x, y = random_blocks(text, 8, 8, generator=g)
        loss = m(x, y)[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = estimate_loss(m, {"train": text}, batch_size=8, eval_iters=4,
                        generator=torch.Generator().manual_seed(5))["train"]
    assert m.training                                    # estimate_loss restored the mode
    assert end < 0.5 * start, (start, end)


def test_generate_is_reproducible_with_a_seed_and_crops_the_context():
    m = model(dropout=0.2)                               # dropout must be off while sampling
    prompt = torch.zeros(2, 1, dtype=torch.long)
    a = m.generate(prompt, 20, generator=torch.Generator().manual_seed(3))
    b = m.generate(prompt, 20, generator=torch.Generator().manual_seed(3))
    c = m.generate(prompt, 20, generator=torch.Generator().manual_seed(4))
    assert a.shape == (2, 21) and a.dtype == torch.long
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert m.training and int(a.min()) >= 0 and int(a.max()) < V
    # 21 tokens is longer than block_size 8: generation went on past it, and a prompt longer
    # than block_size works too
    long = m.generate(a, 5, generator=torch.Generator().manual_seed(0))
    assert long.shape == (2, 26) and torch.equal(long[:, :21], a)
    # cropping: only the last block_size tokens of the prompt matter
    cropped = m.generate(a[:, -8:], 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(long[:, 21:], cropped[:, 8:])
    with pytest.raises(ValueError, match="block_size"):
        m(a)


def test_generate_top_k_one_is_greedy():
    m = model().eval()
    prompt = torch.tensor([[1, 2]])
    out = m.generate(prompt, 4, top_k=1, generator=torch.Generator().manual_seed(0))
    x = prompt
    for _ in range(4):
        x = torch.cat([x, m(x)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, x)
    # a temperature near zero makes sampling greedy too
    cold = m.generate(prompt, 4, temperature=1e-6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(cold, x)


def test_temperature_flattens_the_distribution():
    # at a high temperature the samples spread over more distinct tokens than at a low one
    torch.manual_seed(0)
    m = GPT(tiny(n_embd=32, n_head=2))
    with torch.no_grad():
        m.lm_head.weight.mul_(200)                       # confident logits
    prompt = torch.zeros(64, 1, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    cold = m.generate(prompt, 1, temperature=0.05, generator=g)[:, 1]
    hot = m.generate(prompt, 1, temperature=20.0, generator=g)[:, 1]
    assert len(set(hot.tolist())) > len(set(cold.tolist())), (cold, hot)


def test_gpt2_style_initialisation():
    cfg = tiny(n_embd=64, n_head=4, n_layer=8, block_size=32)
    torch.manual_seed(0)
    m = GPT(cfg)
    scaled = 0.02 / (2 * cfg.n_layer) ** 0.5                # residual projections
    for block in m.blocks:
        for proj in (block.attn.c_proj, block.mlp.c_proj):
            assert abs(proj.weight.std().item() - scaled) < 0.1 * scaled
            assert torch.count_nonzero(proj.bias) == 0
        assert abs(block.mlp.c_fc.weight.std().item() - 0.02) < 0.002
        assert torch.equal(block.ln_1.weight, torch.ones(64))
    assert abs(m.wte.weight.std().item() - 0.02) < 0.003
    assert abs(m.wpe.weight.std().item() - 0.02) < 0.003


def test_random_blocks_shifts_by_one_and_is_seeded():
    data = torch.arange(100)
    x, y = random_blocks(data, 10, 4, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 10) and x.dtype == torch.long
    assert torch.equal(y, x + 1) and torch.equal(x[:, 1:], x[:, :-1] + 1)
    x2, _ = random_blocks(data, 10, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)
    assert int(y.max()) <= 99
    with pytest.raises(ValueError, match="block_size"):
        random_blocks(torch.arange(5), 5, 2)
    with pytest.raises(ValueError, match="1-D"):
        random_blocks(torch.zeros(3, 3), 2, 2)
    with pytest.raises(ValueError, match="data"):
        random_blocks(torch.rand(100), 10, 2)           # token ids are integers
    with pytest.raises(ValueError, match="block_size"):
        estimate_loss(torch.nn.Linear(2, 2), {"train": data}, batch_size=2, eval_iters=1)


def test_weight_tying_shares_one_matrix():
    untied, tied = model(), model(tie_weights=True)
    assert tied.lm_head.weight is tied.wte.weight
    assert untied.num_parameters() - tied.num_parameters() == V * 16


def test_known_parameter_count():
    # the 10.8M-parameter configuration of the chapter's GPU profile
    cfg = GPTConfig(vocab_size=65, block_size=256, n_embd=384, n_head=6, n_layer=6, dropout=0.2)
    n = sum(p.numel() for p in GPT(cfg).parameters())
    assert 10_750_000 < n < 10_850_000


@pytest.mark.parametrize("kw, err, name", [
    (dict(n_embd=15), ValueError, "n_embd"),
    (dict(n_head=0), ValueError, "n_head"),
    (dict(n_layer=2.0), TypeError, "n_layer"),
    (dict(vocab_size=-1), ValueError, "vocab_size"),
    (dict(block_size=True), TypeError, "block_size"),
    (dict(dropout=1.0), ValueError, "dropout"),
    (dict(dropout="0.1"), TypeError, "dropout"),
    (dict(bias=1), TypeError, "bias"),
])
def test_bad_config_names_the_argument(kw, err, name):
    with pytest.raises(err, match=name):
        tiny(**kw)


def test_bad_calls_raise():
    m = model()
    with pytest.raises(TypeError, match="config"):
        GPT(dict(vocab_size=V))
    with pytest.raises(ValueError, match="idx"):
        m(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="temperature"):
        m.generate(torch.zeros(1, 1, dtype=torch.long), 2, temperature=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        m.generate(torch.zeros(1, 1, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="targets"):
        m(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="temperature"):
        m.generate(torch.zeros(1, 1, dtype=torch.long), 2, temperature=float("nan"))
    with pytest.raises(ValueError, match="top_k"):
        m.generate(torch.zeros(1, 1, dtype=torch.long), 2, top_k=0)
    with pytest.raises(ValueError, match="idx"):
        m.generate(torch.zeros(1, 0, dtype=torch.long), 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda():
    m = model().cuda()
    data = torch.arange(200) % V
    x, y = random_blocks(data, 8, 4, generator=torch.Generator().manual_seed(0), device="cuda")
    logits, loss = m(x, y)
    assert logits.is_cuda and torch.isfinite(loss)
    loss.backward()
    out = m.generate(x[:, :2], 5, generator=torch.Generator().manual_seed(0))
    assert out.is_cuda and out.shape == (4, 7)
    est = estimate_loss(m, {"val": data.cuda()}, batch_size=4, eval_iters=2)
    assert est["val"] > 0
