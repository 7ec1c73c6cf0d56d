"""Attention: ``nn.MultiheadAttention``, on ``F.scaled_dot_product_attention``'s formula.

For queries Q (..., L, E), keys K (..., S, E) and values V (..., S, Ev):

    A = softmax(Q K^T * scale + M),   output = A V,   scale = 1 / sqrt(E) by default,

with the softmax over the S keys, computed stably (shifted by each row's
maximum). The mask M is 0 where a query may attend to a key and -inf where
it may not (a boolean mask, True = may attend, as PyTorch's
``scaled_dot_product_attention``; ``is_causal`` allows key j <= query i), or
any real numbers added to the scores (an additive mask). A row whose every
key is masked has no softmax and gives NaN, as in PyTorch.

``MultiheadAttention`` projects the inputs with ``in_proj_weight`` (3E, E)
(rows: queries, keys, values), splits E into ``num_heads`` heads of E / h,
attends in each and projects the concatenated heads with ``out_proj``. Its
parameters have PyTorch's names and layouts, ``out_proj.weight`` included
((out, in), unlike ``nn.Linear``'s (in, out)), so a PyTorch state dict loads
as it is.
"""

from __future__ import annotations

import math

from ..creation import zeros
from ..fused import linear
from ..ops import where
from ..tensor import Tensor
from . import init
from .functional import _as_tensor, dropout
from .module import Module, Parameter


class _Projection(Module):
    """y = x W^T + b with W in PyTorch's (out, in) layout: the ``out_proj`` of attention."""

    def __init__(self, features: int, bias: bool, where: dict):
        super().__init__()
        self.weight = Parameter(zeros(features, features, **where))
        if bias:
            self.bias = Parameter(zeros(features, **where))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight.T, self.bias)


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's parameters: ``in_proj_weight`` (3E, E),
    ``in_proj_bias`` (3E,), ``out_proj.weight`` (E, E) (out, in) and ``out_proj.bias`` (E,).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False)`` returns
    ``(output, weights)``: output (L, N, E) ((N, L, E) with ``batch_first``,
    (L, E) for unbatched inputs), and the attention weights (N, L, S) averaged
    over the heads (or (N, h, L, S)), or None without ``need_weights``.
    As in ``torch.nn.MultiheadAttention``, a boolean ``attn_mask`` (L, S) or
    (N h, L, S) and ``key_padding_mask`` (N, S) are True where attention is
    NOT allowed; float masks are added to the scores. Dropout acts on the
    attention weights in training. Initialisation as PyTorch: ``in_proj_weight``
    Xavier-uniform, biases 0, ``out_proj.weight`` U(-1/sqrt(E), 1/sqrt(E)).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__()
        for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"MultiheadAttention: {name} must be a positive int, got {value!r}"
                )
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim {embed_dim} must be divisible by "
                f"num_heads {num_heads}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        where_ = {"dtype": dtype, "backend": backend, "device": device}
        self.in_proj_weight = Parameter(zeros(3 * embed_dim, embed_dim, **where_))
        if bias:
            self.in_proj_bias = Parameter(zeros(3 * embed_dim, **where_))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = _Projection(embed_dim, bias, where_)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: in_proj_weight Xavier-uniform, out_proj U(+-1/sqrt(E)), biases 0."""
        bound = math.sqrt(6.0 / (4 * self.embed_dim))  # fan_in E + fan_out 3E
        init.uniform_(self.in_proj_weight, -bound, bound)
        out_bound = 1 / math.sqrt(self.embed_dim)
        init.uniform_(self.out_proj.weight, -out_bound, out_bound)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _as_tensor(
                    key_padding_mask, query, "key_padding_mask"
                ).unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(1, 0, 2) for t in (query, key, value))
        if query.ndim != 3 or query.shape[-1] != self.embed_dim:
            raise ValueError(
                f"MultiheadAttention needs inputs of shape (L, N, {self.embed_dim}) "
                f"(batch_first: (N, L, E)) or (L, E), got {query.shape}"
            )
        length, batch, embed = query.shape
        source = key.shape[0]
        heads, head_dim = self.num_heads, self.head_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        projections = []
        for number, x in enumerate((query, key, value)):
            rows = slice(number * embed, (number + 1) * embed)
            part = linear(x, w[rows].T, None if b is None else b[rows])  # (L, N, E)
            # (L, N, E) -> (N, h, L, E/h)
            projections.append(
                part.reshape(x.shape[0], batch, heads, head_dim).transpose(1, 2, 0, 3)
            )
        q, k, v = projections
        scores = (q @ k.mT) * (1.0 / math.sqrt(head_dim))  # (N, h, L, S)
        xp = query.xp
        if is_causal and attn_mask is None:
            rows = xp.arange(length, device=query.device)[:, None]
            attn_mask = Tensor(xp.arange(source, device=query.device)[None, :] > rows)
        if attn_mask is not None:
            attn_mask = _as_tensor(attn_mask, query, "attn_mask")
            if attn_mask.ndim == 3:  # (N h, L, S)
                attn_mask = attn_mask.reshape(batch, heads, length, source)
            scores = _masked(scores, attn_mask, xp)
        if key_padding_mask is not None:
            padding = _as_tensor(key_padding_mask, query, "key_padding_mask")
            scores = _masked(scores, padding.reshape(batch, 1, 1, source), xp)
        weights = scores.softmax(axis=-1)
        attended = dropout(weights, self.dropout, self.training) if self.dropout else weights
        output = (attended @ v).transpose(2, 0, 1, 3).reshape(length, batch, embed)
        output = self.out_proj(output)
        if unbatched:
            output = output[:, 0]
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        if not need_weights:
            return output, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        return output, (weights[0] if unbatched else weights)

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        return text + (", batch_first=True" if self.batch_first else "")


def _masked(scores: Tensor, mask: Tensor, xp) -> Tensor:
    """PyTorch's MultiheadAttention convention: a boolean True blocks, floats are added."""
    if mask.dtype == xp.bool:
        return where(mask, -math.inf, scores)
    return scores + mask
