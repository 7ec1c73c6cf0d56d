"""``F.pad``: padding built from slicing and concatenation, so it runs on every backend.

The pad tuple is PyTorch's: ``(left, right)`` for the last axis first, then
``(left, right)`` for the one before it, and so on. Every mode is a
concatenation of pieces of ``x`` (or of a constant), so the gradient of a
padded tensor is the sum of the gradients of the pieces: the slices' adjoints
add their parts back into place.
"""

from __future__ import annotations

from ..functional import concat
from ..tensor import Tensor

PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(x: Tensor, pad: tuple, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the trailing axes of ``x``; ``pad = (left_last, right_last, left_prev, ...)``.

    Modes, for an axis of length n and positions i < 0 or i >= n:

    * ``"constant"``: ``value``; negative amounts crop;
    * ``"reflect"``: x[-i] and x[2 (n - 1) - i], the edge not repeated (amount < n);
    * ``"replicate"``: the edge value x[0] or x[n - 1];
    * ``"circular"``: x[i mod n] (amount <= n).

    >>> import tinygrad_edu as tg
    >>> from tinygrad_edu.nn.functional import pad
    >>> pad(tg.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    """
    if mode not in PAD_MODES:
        raise ValueError(f"pad mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or any(isinstance(p, bool) or not isinstance(p, int) for p in pad):
        raise ValueError(f"pad needs an even number of ints (left, right per axis), got {pad}")
    if len(pad) // 2 > x.ndim:
        raise ValueError(f"pad {pad} names {len(pad) // 2} axes, the input has {x.ndim}")
    for number in range(len(pad) // 2):
        axis = x.ndim - 1 - number
        before, after = pad[2 * number], pad[2 * number + 1]
        if before or after:
            x = _pad_axis(x, axis, before, after, mode, value)
    return x


def _along(axis: int, part: slice) -> tuple:
    return (slice(None),) * axis + (part,)


def _pad_axis(x: Tensor, axis: int, before: int, after: int, mode: str, value: float) -> Tensor:
    n = x.shape[axis]
    if mode == "constant":
        if before < 0 or after < 0:  # negative amounts crop
            x = x[_along(axis, slice(max(-before, 0), n - max(-after, 0)))]
            before, after = max(before, 0), max(after, 0)
        pieces = [_filled(x, axis, before, value), x, _filled(x, axis, after, value)]
        return concat([p for p in pieces if p is not None], axis=axis)
    if before < 0 or after < 0:
        raise ValueError(f"pad mode {mode!r} needs non-negative amounts, got ({before}, {after})")
    if mode == "reflect":
        if max(before, after) >= n:
            raise ValueError(
                f"reflect padding ({before}, {after}) must be less than the axis length {n}"
            )
        left = taken(x, axis, range(before, 0, -1)) if before else None
        right = taken(x, axis, range(n - 2, n - 2 - after, -1)) if after else None
    elif mode == "replicate":
        if n == 0:
            raise ValueError("replicate padding needs a non-empty axis")
        left = _repeated(x[_along(axis, slice(0, 1))], axis, before)
        right = _repeated(x[_along(axis, slice(n - 1, n))], axis, after)
    else:
        if max(before, after) > n:
            raise ValueError(
                f"circular padding ({before}, {after}) must be at most the axis length {n}"
            )
        left = x[_along(axis, slice(n - before, n))] if before else None
        right = x[_along(axis, slice(0, after))] if after else None
    return concat([p for p in (left, x, right) if p is not None], axis=axis)


def taken(x: Tensor, axis: int, positions: range) -> Tensor:
    """x at ``positions`` along ``axis``, by an integer index array.

    Used for reversed runs: PyTorch's arrays take no negative slice steps.
    """
    index = x.xp.asarray(list(positions), device=x.device)
    return x[_along(axis, index)]


def _filled(x: Tensor, axis: int, count: int, value: float):
    if count == 0:
        return None
    shape = x.shape[:axis] + (count,) + x.shape[axis + 1 :]
    return Tensor(x.xp.full(shape, value, dtype=x.dtype, device=x.device))


def _repeated(edge: Tensor, axis: int, count: int):
    if count == 0:
        return None
    return edge.broadcast_to(edge.shape[:axis] + (count,) + edge.shape[axis + 1 :])
