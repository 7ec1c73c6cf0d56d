"""``nn.Embedding`` and ``F.embedding``: rows of a table picked by integer indices."""

from __future__ import annotations

from .. import backend
from ..creation import zeros
from ..ops import where
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def embedding(indices, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """y[..., :] = weight[indices[...], :] for integer ``indices`` of any shape.

    The gradient of the table adds g into row i once for every position that
    picked i (repeated indices sum: integer indexing's adjoint is a
    scatter-add). Rows at ``padding_idx`` get no gradient, as in PyTorch.
    """
    if not isinstance(indices, Tensor):
        indices = Tensor(indices, backend=weight.backend, device=weight.device)
    xp = indices.xp
    from_integers = xp.isdtype(indices.dtype, "integral")
    if not from_integers:
        raise TypeError(
            f"embedding needs integer indices, got dtype {indices.dtype} of shape {indices.shape}"
        )
    rows = weight.shape[0]
    if indices.size and not backend.all_within(xp, indices.data, -rows, rows):
        low, high = backend.integer_range(xp, indices.data)
        if low < -rows or high >= rows:
            bad = low if low < -rows else high
            raise ValueError(f"embedding index {bad} is out of range for a table of {rows} rows")
    picked = weight[indices]
    if padding_idx is not None:
        keep = Tensor(indices.data[..., None] != (padding_idx % rows))
        picked = where(keep, picked, picked.detach())
    return picked


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``.

    ``weight`` (num_embeddings, embedding_dim) starts as N(0, 1) (PyTorch's
    default), with the ``padding_idx`` row zero; PyTorch's state dict loads as it is.

    >>> import tinygrad_edu as tg
    >>> from tinygrad_edu import nn
    >>> nn.Embedding(10, 3)(tg.tensor([[1, 2], [2, 9]], dtype="int64")).shape
    (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__()
        for name, size in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"Embedding: {name} must be a positive int, got {size!r}")
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} rows"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        where_ = {"dtype": dtype, "backend": backend, "device": device}
        self.weight = Parameter(zeros(num_embeddings, embedding_dim, **where_))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 1) entries; the padding row (if any) zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            xp = self.weight.xp
            rows = xp.arange(self.num_embeddings, device=self.weight.device)[:, None]
            self.weight.data = xp.where(
                rows == self.padding_idx, xp.zeros_like(self.weight.data), self.weight.data
            )

    def forward(self, indices) -> Tensor:
        return embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
