"""The Vision Transformer (ViT) of Dosovitskiy et al. (2021), small enough for a CPU.

The chapter *The Vision Transformer* builds every piece inline, checks the whole model against
``torchvision.models.VisionTransformer`` with the same weights, then uses it from here::

    from dlbook.models.vit import PatchEmbedding, VisionTransformer, patchify

    patchify(torch.rand(8, 1, 28, 28), 7).shape         # (8, 16, 49): 16 patches of 7x7 pixels
    embed = PatchEmbedding(28, 7, in_channels=1, embed_dim=32)
    embed(torch.rand(8, 1, 28, 28)).shape               # (8, 16, 32)
    vit = VisionTransformer(28, 7, in_channels=1, n_classes=10, d_model=32, n_heads=4,
                            n_layers=2, dim_feedforward=64)
    vit(torch.rand(8, 1, 28, 28)).shape                 # (8, 10): logits
    vit.eval()
    vit.attention_maps(torch.rand(8, 1, 28, 28)).shape  # (2, 8, 4, 17, 17)

An image of ``H x W`` pixels is cut into ``(H / p) * (W / p)`` non-overlapping ``p x p`` patches,
read row by row. Each flattened patch (``C * p * p`` values, channel first) is embedded by one
linear map, which is the same as a ``Conv2d`` with kernel size and stride ``p``. A learned
``[CLS]`` token is prepended, learned position embeddings are added, and a stack of
``nn.TransformerEncoderLayer`` in the *pre-norm* arrangement (``norm_first=True``, GELU, as in ViT)
with a final ``LayerNorm`` encodes the sequence. The classifier reads the ``[CLS]`` token's final
state. Parameter names follow torchvision's model closely enough to map one onto the other.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_int as _int, probability as _probability

__all__ = ["patchify", "PatchEmbedding", "VisionTransformer"]


def _size(name: str, value) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each at least 1."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        return _int(f"{name}[0]", value[0]), _int(f"{name}[1]", value[1])
    value = _int(name, value)
    return value, value


def _grid(image_size: tuple[int, int], patch_size: tuple[int, int]) -> tuple[int, int]:
    (h, w), (ph, pw) = image_size, patch_size
    if h % ph or w % pw:
        raise ValueError(f"image_size {h}x{w} is not divisible by patch_size {ph}x{pw}: the patches must "
                         "tile the image exactly (crop or pad the images, or choose another patch size)")
    return h // ph, w // pw


def _check_images(images, name: str = "images") -> None:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got shape {tuple(images.shape)}")


def patchify(images: torch.Tensor, patch_size: int | tuple[int, int]) -> torch.Tensor:
    """Cut images into non-overlapping patches and flatten each one.

    Parameters
    ----------
    images : torch.Tensor
        Shape ``(N, C, H, W)``; ``H`` and ``W`` divisible by the patch height and width.
    patch_size : int or (int, int)
        ``p`` for square patches, or ``(ph, pw)``.

    Returns
    -------
    torch.Tensor
        Shape ``(N, L, C * ph * pw)`` with ``L = (H / ph) * (W / pw)``: the patches row by row
        (left to right, then top to bottom), each flattened channel first, then row, then column,
        which is the order of a ``Conv2d`` weight ``(out, C, ph, pw)``.

    Raises
    ------
    TypeError, ValueError
        If ``images`` is not a 4-d tensor, or its size is not divisible by ``patch_size``.
    """
    _check_images(images)
    ph, pw = _size("patch_size", patch_size)
    _grid(tuple(images.shape[-2:]), (ph, pw))
    n, c = images.shape[:2]
    # (N, C, H, W) -> (N, C, nh, nw, ph, pw): two unfolds cut rows, then columns, into windows
    windows = images.unfold(2, ph, ph).unfold(3, pw, pw)
    return windows.permute(0, 2, 3, 1, 4, 5).reshape(n, -1, c * ph * pw)


class PatchEmbedding(nn.Module):
    """Embed every non-overlapping ``p x p`` patch of an image linearly: a strided ``Conv2d``.

    Parameters
    ----------
    image_size : int or (int, int), default 28
        Height and width of the input images (an int for square ones).
    patch_size : int or (int, int), default 7
        Must divide ``image_size`` exactly.
    in_channels : int, default 1
    embed_dim : int, default 32
        Length of each patch's embedding.

    Attributes
    ----------
    proj : nn.Conv2d
        Kernel size and stride ``patch_size``: one output position per patch.
    grid_size : (int, int)
        Patches per column and per row.
    n_patches : int
        ``grid_size[0] * grid_size[1]``.

    Notes
    -----
    ``forward(x)`` equals ``patchify(x, p) @ proj.weight.reshape(embed_dim, -1).T + proj.bias``.
    Input ``(N, C, H, W)``, output ``(N, n_patches, embed_dim)``.
    """

    def __init__(self, image_size: int | tuple[int, int] = 28, patch_size: int | tuple[int, int] = 7,
                 in_channels: int = 1, embed_dim: int = 32) -> None:
        super().__init__()
        self.image_size = _size("image_size", image_size)
        self.patch_size = _size("patch_size", patch_size)
        self.in_channels = _int("in_channels", in_channels)
        self.embed_dim = _int("embed_dim", embed_dim)
        self.grid_size = _grid(self.image_size, self.patch_size)
        self.n_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=self.patch_size, stride=self.patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        _check_images(images)
        expected = (self.in_channels, *self.image_size)
        if tuple(images.shape[1:]) != expected:
            raise ValueError(f"images must have shape (N, {expected[0]}, {expected[1]}, {expected[2]}) for this "
                             f"PatchEmbedding, got {tuple(images.shape)}")
        # (N, D, nh, nw) -> (N, nh * nw, D)
        return self.proj(images).flatten(2).transpose(1, 2)

    def extra_repr(self) -> str:
        return f"image_size={self.image_size}, patch_size={self.patch_size}, n_patches={self.n_patches}"


class VisionTransformer(nn.Module):
    """A Vision Transformer classifier: patches, ``[CLS]``, position embeddings, pre-norm encoder.

    Parameters
    ----------
    image_size : int or (int, int), default 28
    patch_size : int or (int, int), default 7
        Must divide ``image_size`` exactly.
    in_channels : int, default 1
    n_classes : int, default 10
        Number of logits.
    d_model : int, default 32
        Width of every token (the embedding size).
    n_heads : int, default 4
        Attention heads; must divide ``d_model``.
    n_layers : int, default 2
        Encoder layers.
    dim_feedforward : int, default 64
        Hidden width of each layer's MLP (ViT uses ``4 * d_model``).
    dropout : float, default 0.0
        Dropout on the embedded tokens and inside every encoder layer.

    Attributes
    ----------
    patch_embed : PatchEmbedding
    cls_token : nn.Parameter
        Shape ``(1, 1, d_model)``, initialised to zeros.
    pos_embedding : nn.Parameter
        Shape ``(1, 1 + n_patches, d_model)`` (position 0 is the ``[CLS]`` token's), initialised
        from a normal distribution with standard deviation 0.02.
    encoder : nn.TransformerEncoder
        ``n_layers`` copies of ``nn.TransformerEncoderLayer(norm_first=True, activation="gelu",
        batch_first=True)`` and a final ``LayerNorm``; LayerNorm epsilon 1e-6 as in ViT.
    head : nn.Linear
        From the ``[CLS]`` token's final state to the logits; initialised to zeros, so a fresh
        model predicts the uniform distribution (loss ``ln n_classes``).

    Notes
    -----
    Input ``(N, C, H, W)``, output ``(N, n_classes)`` logits for ``nn.CrossEntropyLoss``.
    """

    def __init__(self, image_size: int | tuple[int, int] = 28, patch_size: int | tuple[int, int] = 7,
                 in_channels: int = 1, n_classes: int = 10, *, d_model: int = 32, n_heads: int = 4,
                 n_layers: int = 2, dim_feedforward: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        _int("n_classes", n_classes)
        _int("d_model", d_model)
        _int("n_heads", n_heads)
        _int("n_layers", n_layers)
        _int("dim_feedforward", dim_feedforward)
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads}): each head gets "
                             "d_model / n_heads features")
        _probability("dropout", dropout)
        self.patch_embed = PatchEmbedding(image_size, patch_size, in_channels, d_model)
        self.n_tokens = self.patch_embed.n_patches + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
        self.pos_embedding = nn.Parameter(torch.randn(1, self.n_tokens, d_model) * 0.02)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward, dropout=dropout,
                                           activation="gelu", layer_norm_eps=1e-6, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(d_model, eps=1e-6),
                                             enable_nested_tensor=False)
        self.head = nn.Linear(d_model, n_classes)
        fan_in = self.patch_embed.proj.weight[0].numel()
        nn.init.trunc_normal_(self.patch_embed.proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.patch_embed.proj.bias)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder's input: ``[CLS]`` and the patch embeddings, plus position embeddings.

        Returns a tensor of shape ``(N, 1 + n_patches, d_model)``.
        """
        patches = self.patch_embed(images)
        cls = self.cls_token.expand(patches.shape[0], -1, -1)
        return self.dropout(torch.cat([cls, patches], dim=1) + self.pos_embedding)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The final states of all tokens, ``(N, 1 + n_patches, d_model)``; index 0 is ``[CLS]``."""
        return self.encoder(self.embed(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(images)[:, 0])

    @torch.no_grad()
    def attention_maps(self, images: torch.Tensor) -> torch.Tensor:
        """Every layer's attention weights, per head.

        Call it in eval mode (``model.eval()``): in train mode the weights would include attention
        dropout. Each layer's input is computed by running the previous layers as ``forward`` does.

        Returns
        -------
        torch.Tensor
            Shape ``(n_layers, N, n_heads, L, L)`` with ``L = 1 + n_patches``: entry
            ``[l, i, h, q, k]`` is how much token ``q`` attends to token ``k`` in head ``h`` of layer
            ``l`` for image ``i``; each row sums to 1. Row ``q = 0`` is the ``[CLS]`` token's.
        """
        tokens = self.embed(images)
        maps = []
        for layer in self.encoder.layers:
            x = layer.norm1(tokens)
            _, weights = layer.self_attn(x, x, x, need_weights=True, average_attn_weights=False)
            maps.append(weights)
            tokens = layer(tokens)
        return torch.stack(maps)
