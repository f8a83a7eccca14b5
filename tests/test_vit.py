"""Tests of dlbook.models.vit: patchify, PatchEmbedding and VisionTransformer."""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vision_transformer import VisionTransformer as TorchvisionViT

from dlbook.models.vit import PatchEmbedding, VisionTransformer, patchify
from conftest import fit_steps

# (image size, patch size, channels): square and rectangular images and patches, 1 and 3 channels
SIZES = [(28, 7, 1), (28, 4, 1), (32, 8, 3), ((12, 20), (4, 5), 2), (16, 16, 1)]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("image_size, patch_size, channels", SIZES)
def test_patchify_shape_and_order(image_size, patch_size, channels):
    (h, w), (ph, pw) = _pair(image_size), _pair(patch_size)
    x = torch.randn(3, channels, h, w)
    patches = patchify(x, patch_size)
    nh, nw = h // ph, w // pw
    assert patches.shape == (3, nh * nw, channels * ph * pw)
    # patch k is the block in grid row k // nw and column k % nw, flattened channel first
    for k in (0, nw - 1, nh * nw - 1):
        r, c = divmod(k, nw)
        block = x[:, :, r * ph:(r + 1) * ph, c * pw:(c + 1) * pw]
        assert torch.equal(patches[:, k], block.reshape(3, -1))


@pytest.mark.parametrize("image_size, patch_size, channels", SIZES)
def test_patchify_equals_functional_unfold(image_size, patch_size, channels):
    x = torch.randn(2, channels, *_pair(image_size))
    by_unfold = F.unfold(x, kernel_size=patch_size, stride=patch_size).transpose(1, 2)
    assert torch.equal(patchify(x, patch_size), by_unfold)


@pytest.mark.parametrize("image_size, patch_size, channels", SIZES)
def test_patch_embedding_is_a_linear_map_of_the_unfolded_patches(image_size, patch_size, channels):
    torch.manual_seed(0)
    embed = PatchEmbedding(image_size, patch_size, channels, embed_dim=12)
    x = torch.randn(4, channels, *_pair(image_size))
    out = embed(x)
    (h, w), (ph, pw) = _pair(image_size), _pair(patch_size)
    assert embed.grid_size == (h // ph, w // pw) and embed.n_patches == (h // ph) * (w // pw)
    assert out.shape == (4, embed.n_patches, 12)
    weight = embed.proj.weight.reshape(12, -1)
    expected = patchify(x, patch_size) @ weight.T + embed.proj.bias
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_image_size_not_divisible_by_patch_size_raises():
    with pytest.raises(ValueError, match="not divisible by patch_size"):
        PatchEmbedding(28, 5)
    with pytest.raises(ValueError, match="not divisible by patch_size"):
        VisionTransformer(30, 7)
    with pytest.raises(ValueError, match="not divisible by patch_size"):
        patchify(torch.zeros(1, 1, 28, 28), 6)
    with pytest.raises(ValueError, match="not divisible by patch_size"):
        PatchEmbedding((28, 30), (7, 7))


def test_bad_arguments_name_the_argument():
    with pytest.raises(TypeError, match="patch_size"):
        PatchEmbedding(28, 7.0)
    with pytest.raises(ValueError, match="patch_size"):
        PatchEmbedding(28, 0)
    with pytest.raises(ValueError, match="image_size"):
        PatchEmbedding((28, 28, 28), 7)
    with pytest.raises(TypeError, match="embed_dim"):
        PatchEmbedding(28, 7, embed_dim=True)
    with pytest.raises(ValueError, match="divisible by n_heads"):
        VisionTransformer(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="dropout"):
        VisionTransformer(dropout=1.0)
    with pytest.raises(ValueError, match="n_layers"):
        VisionTransformer(n_layers=0)
    with pytest.raises(TypeError, match="images"):
        patchify([[0.0]], 7)


def test_wrong_input_shapes_raise():
    embed = PatchEmbedding(28, 7, in_channels=1)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        embed(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        embed(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        VisionTransformer()(torch.zeros(28, 28))


@pytest.mark.parametrize("image_size, patch_size, channels", SIZES)
def test_vision_transformer_shapes(image_size, patch_size, channels):
    torch.manual_seed(1)
    vit = VisionTransformer(image_size, patch_size, channels, n_classes=5, d_model=16, n_heads=2,
                            n_layers=3, dim_feedforward=24).eval()
    x = torch.randn(6, channels, *_pair(image_size))
    n_tokens = vit.patch_embed.n_patches + 1
    assert vit.n_tokens == n_tokens
    assert vit.embed(x).shape == (6, n_tokens, 16)
    assert vit.encode(x).shape == (6, n_tokens, 16)
    assert vit(x).shape == (6, 5)
    maps = vit.attention_maps(x)
    assert maps.shape == (3, 6, 2, n_tokens, n_tokens)
    torch.testing.assert_close(maps.sum(-1), torch.ones(3, 6, 2, n_tokens))


def test_fresh_model_predicts_uniformly():
    """The head starts at zero, so the first loss is ln(n_classes) whatever the input."""
    vit = VisionTransformer(n_classes=10)
    assert torch.count_nonzero(vit.cls_token) == 0
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    assert F.cross_entropy(vit(x), y).item() == pytest.approx(math.log(10))


def to_torchvision(vit: VisionTransformer, image_size: int, patch_size: int) -> TorchvisionViT:
    """torchvision's ViT with the weights of ``vit`` (square images)."""
    d = vit.cls_token.shape[-1]
    layer = vit.encoder.layers[0]
    tv = TorchvisionViT(image_size, patch_size, len(vit.encoder.layers), layer.self_attn.num_heads, d,
                        layer.linear1.out_features, num_classes=vit.head.out_features)
    tv.conv_proj = nn.Conv2d(vit.patch_embed.in_channels, d, patch_size, stride=patch_size)
    renames = [(r"^patch_embed\.proj", "conv_proj"), (r"^cls_token", "class_token"),
               (r"^pos_embedding", "encoder.pos_embedding"), (r"^encoder\.norm", "encoder.ln"),
               (r"^encoder\.layers\.(\d+)", r"encoder.layers.encoder_layer_\1"),
               (r"self_attn", "self_attention"), (r"norm1", "ln_1"), (r"norm2", "ln_2"),
               (r"linear1", "mlp.0"), (r"linear2", "mlp.3"), (r"^head", "heads.head")]
    state = {}
    for name, value in vit.state_dict().items():
        for old, new in renames:
            name = re.sub(old, new, name)
        state[name] = value
    tv.load_state_dict(state)      # strict: every parameter mapped, none left over
    return tv


@pytest.mark.parametrize("image_size, patch_size, channels", [(28, 7, 1), (32, 8, 3)])
def test_equals_torchvision_vision_transformer_with_the_same_weights(image_size, patch_size, channels):
    torch.manual_seed(2)
    vit = VisionTransformer(image_size, patch_size, channels, n_classes=4, d_model=16, n_heads=4,
                            n_layers=2, dim_feedforward=32)
    with torch.no_grad():                      # a non-zero head, so that the logits differ
        vit.head.weight.normal_()
    tv = to_torchvision(vit, image_size, patch_size)
    x = torch.randn(5, channels, image_size, image_size)
    vit.eval(), tv.eval()
    torch.testing.assert_close(vit(x), tv(x), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(vit(x), tv(x), rtol=1e-5, atol=1e-5)


def shuffle_patches(x: torch.Tensor, patch_size: int, order: torch.Tensor) -> torch.Tensor:
    patches = patchify(x, patch_size)[:, order]
    return F.fold(patches.transpose(1, 2), x.shape[-2:], patch_size, stride=patch_size)


def test_position_embeddings_make_the_model_see_patch_order():
    """Without position embeddings the [CLS] output ignores where each patch is; with them it does not."""
    torch.manual_seed(3)
    vit = VisionTransformer(28, 7, d_model=16, n_heads=2).eval()
    with torch.no_grad():
        vit.head.weight.normal_()
    x = torch.randn(4, 1, 28, 28)
    order = torch.randperm(16)
    shuffled = shuffle_patches(x, 7, order)
    assert torch.equal(patchify(shuffled, 7), patchify(x, 7)[:, order])
    assert not torch.allclose(vit(x), vit(shuffled), atol=1e-3)
    with torch.no_grad():
        vit.pos_embedding.zero_()
    torch.testing.assert_close(vit(x), vit(shuffled), rtol=1e-5, atol=1e-5)


def test_attention_maps_match_the_layers_attention():
    """The last layer's attention, applied by hand, reproduces the layer's attention output."""
    torch.manual_seed(5)
    vit = VisionTransformer(28, 7, d_model=16, n_heads=1, n_layers=1).eval()
    x = torch.randn(3, 1, 28, 28)
    weights = vit.attention_maps(x)[0, :, 0]                  # (N, L, L), one head
    layer = vit.encoder.layers[0]
    h = layer.norm1(vit.embed(x))
    d = 16
    v = h @ layer.self_attn.in_proj_weight[2 * d:].T + layer.self_attn.in_proj_bias[2 * d:]
    by_hand = layer.self_attn.out_proj(weights @ v)
    torch.testing.assert_close(by_hand, layer.self_attn(h, h, h)[0], rtol=1e-5, atol=1e-5)


def test_same_seed_same_model():
    torch.manual_seed(7)
    a = VisionTransformer()
    torch.manual_seed(7)
    b = VisionTransformer()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name


def test_a_few_steps_lower_the_loss():
    torch.manual_seed(0)
    vit = VisionTransformer(28, 7, 1, n_classes=10, d_model=16, n_heads=2, n_layers=1,
                            dim_feedforward=32, dropout=0.1)
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    losses = fit_steps(vit, x, y, lr=3e-3, steps=40)
    assert losses[0] == pytest.approx(math.log(10), abs=1e-4)
    assert losses[-1] < 0.6 * losses[0], losses[::10]
