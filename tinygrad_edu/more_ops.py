"""``tg.`` functions for the operations PyTorch users reach for (API.md, "More Tensor operations").

Function forms of the new Tensor methods (``tg.tan(x)`` is ``x.tan()``), and
``pad``, ``einsum``, ``tensordot``, ``outer``, ``one_hot``, ``logaddexp``,
``hypot``, ``atan2``, ``lerp``, ``isclose``, and the creation functions
``linspace``, ``full_like``, ``empty``, ``meshgrid``. Everything is composed
from Tensor ops, so every derivative follows from theirs.
"""

from __future__ import annotations

import string

from . import backend as backends
from . import ops_linalg
from .function import Function, is_tensor, new_tensor
from .tensor import Tensor

_op = Function.registry  # the core's ops by name (Concat, Permute)


def _tensor(x) -> Tensor:
    return x if is_tensor(x) else Tensor(x)


# ------------------------------------------------------------ function forms
def tan(x):
    return _tensor(x).tan()


def asin(x):
    return _tensor(x).asin()


def acos(x):
    return _tensor(x).acos()


def atan(x):
    return _tensor(x).atan()


def sinh(x):
    return _tensor(x).sinh()


def cosh(x):
    return _tensor(x).cosh()


def asinh(x):
    return _tensor(x).asinh()


def acosh(x):
    return _tensor(x).acosh()


def atanh(x):
    return _tensor(x).atanh()


def log2(x):
    return _tensor(x).log2()


def log10(x):
    return _tensor(x).log10()


def log1p(x):
    return _tensor(x).log1p()


def expm1(x):
    return _tensor(x).expm1()


def exp2(x):
    return _tensor(x).exp2()


def square(x):
    return _tensor(x).square()


def rsqrt(x):
    return _tensor(x).rsqrt()


def reciprocal(x):
    return _tensor(x).reciprocal()


def sign(x):
    return _tensor(x).sign()


def floor(x):
    return _tensor(x).floor()


def ceil(x):
    return _tensor(x).ceil()


def round(x):
    return _tensor(x).round()


def trunc(x):
    return _tensor(x).trunc()


def atan2(a, b):
    return _tensor(a).atan2(b)


def hypot(a, b):
    return _tensor(a).hypot(b)


def logaddexp(a, b):
    return _tensor(a).logaddexp(b)


def lerp(start, end, weight):
    return _tensor(start).lerp(end, weight)


def isnan(x):
    return _tensor(x).isnan()


def isinf(x):
    return _tensor(x).isinf()


def isfinite(x):
    return _tensor(x).isfinite()


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _tensor(a).isclose(b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def prod(x, axis=None, keepdims=False):
    return _tensor(x).prod(axis=axis, keepdims=keepdims)


def cumsum(x, axis=None):
    return _tensor(x).cumsum(axis)


def cumprod(x, axis=None):
    return _tensor(x).cumprod(axis)


def cummax(x, axis):
    return _tensor(x).cummax(axis)


def cummin(x, axis):
    return _tensor(x).cummin(axis)


def logcumsumexp(x, axis=None):
    return _tensor(x).logcumsumexp(axis)


def sort(x, axis=-1, descending=False):
    return _tensor(x).sort(axis=axis, descending=descending)


def argsort(x, axis=-1, descending=False):
    return _tensor(x).argsort(axis=axis, descending=descending)


def topk(x, k, axis=-1, largest=True, sorted=True):
    return _tensor(x).topk(k, axis=axis, largest=largest, sorted=sorted)


def flip(x, axis=None):
    return _tensor(x).flip(axis)


def roll(x, shifts, axis=None):
    return _tensor(x).roll(shifts, axis)


def tril(x, k=0):
    return _tensor(x).tril(k)


def triu(x, k=0):
    return _tensor(x).triu(k)


def tile(x, reps):
    return _tensor(x).tile(reps)


def repeat_interleave(x, repeats, axis=None):
    return _tensor(x).repeat_interleave(repeats, axis)


def split(x, split_size_or_sections, axis=0):
    return _tensor(x).split(split_size_or_sections, axis)


def chunk(x, chunks, axis=0):
    return _tensor(x).chunk(chunks, axis)


def moveaxis(x, source, destination):
    return _tensor(x).moveaxis(source, destination)


def diagonal(x, offset=0, axis1=0, axis2=1):
    return _tensor(x).diagonal(offset, axis1, axis2)


def gather(x, axis, index):
    return _tensor(x).gather(axis, index)


def scatter_add(x, axis, index, src):
    return _tensor(x).scatter_add(axis, index, src)


def masked_fill(x, mask, value):
    return _tensor(x).masked_fill(mask, value)


def one_hot(x, num_classes=-1):
    return _tensor(x).one_hot(num_classes)


def silu(x):
    return _tensor(x).silu()


def mish(x):
    return _tensor(x).mish()


def selu(x):
    return _tensor(x).selu()


def celu(x, alpha=1.0):
    return _tensor(x).celu(alpha)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    return _tensor(x).hardtanh(min_val, max_val)


def relu6(x):
    return _tensor(x).relu6()


def hardsigmoid(x):
    return _tensor(x).hardsigmoid()


def hardswish(x):
    return _tensor(x).hardswish()


def logsigmoid(x):
    return _tensor(x).logsigmoid()


def softsign(x):
    return _tensor(x).softsign()


def softmin(x, axis=-1):
    return _tensor(x).softmin(axis)


# ------------------------------------------------------------ contractions
def tensordot(a, b, axes=2):
    """sum over paired axes: the last ``axes`` of a with the first of b, or two axis lists."""
    return ops_linalg.tensordot(_tensor(a), _tensor(b), axes)


def outer(a, b):
    """out[i, j] = a[i] * b[j]."""
    return ops_linalg.outer(_tensor(a), _tensor(b))


def einsum(subscripts: str, *operands):
    """Einstein summation: ``"ij,jk->ik"`` and the like (explicit or implicit output, ``...``).

    Each operand is permuted and reshaped onto all the letters, the operands
    are multiplied (broadcasting) and the letters not in the output summed.
    A letter repeated inside one operand takes its diagonal.
    """
    operands = [_tensor(x) for x in operands]
    inputs, arrow, output = subscripts.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum: {len(terms)} terms in {subscripts!r} for {len(operands)} operands"
        )
    spare = [c for c in string.ascii_letters if c not in subscripts]
    ellipsis_letters = ""
    expanded = []
    for term, x in zip(terms, operands):
        if "..." in term:
            named = len(term) - 3
            count = x.ndim - named
            ellipsis_letters = (
                ellipsis_letters if len(ellipsis_letters) >= count else "".join(spare[:count])
            )
            term = term.replace(
                "...", ellipsis_letters[len(ellipsis_letters) - count :] if count else ""
            )
        if len(term) != x.ndim:
            raise ValueError(f"einsum: term {term!r} does not match an operand of shape {x.shape}")
        expanded.append(term)
    if arrow:
        output = output.replace("...", ellipsis_letters)
    else:
        counts = {c: "".join(expanded).count(c) for c in "".join(expanded)}
        output = ellipsis_letters + "".join(
            sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis_letters)
        )
    letters = list(dict.fromkeys("".join(expanded) + output))
    sizes = {}
    aligned = []
    for term, x in zip(expanded, operands):
        while len(set(term)) < len(term):  # a repeated letter: its diagonal
            letter = next(c for c in term if term.count(c) > 1)
            first, second = term.index(letter), term.index(letter, term.index(letter) + 1)
            x = x.diagonal(0, first, second)
            term = "".join(c for i, c in enumerate(term) if i not in (first, second)) + letter
        for c, n in zip(term, x.shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ValueError(f"einsum: letter {c!r} has sizes {sizes[c]} and {n}")
            sizes[c] = n if n != 1 else sizes.get(c, 1)
        order = sorted(range(len(term)), key=lambda i: letters.index(term[i]))
        x = _op["Permute"].apply(x, axes=tuple(order)) if order != list(range(len(term))) else x
        present = [term[i] for i in order]
        shape = tuple(x.shape[present.index(c)] if c in present else 1 for c in letters)
        aligned.append(x.reshape(shape))
    product = aligned[0]
    for x in aligned[1:]:
        product = product * x
    full = tuple(sizes.get(c, 1) for c in letters)
    if product.shape != full:
        product = product.broadcast_to(full)
    summed = tuple(i for i, c in enumerate(letters) if c not in output)
    result = product.sum(axis=summed) if summed else product
    kept = [c for c in letters if c in output]
    order = tuple(kept.index(c) for c in output)
    return _op["Permute"].apply(result, axes=order) if order != tuple(range(len(order))) else result


# ------------------------------------------------------------ padding
def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's pad: ``pad = (left_last, right_last, left_second_last, ...)``.

    ``mode`` ``"constant"`` fills with ``value``; ``"reflect"``, ``"replicate"``
    and ``"circular"`` take existing entries (their gradients add up where an
    entry is used twice). Negative pads crop.
    """
    x = _tensor(x)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad needs pairs for at most {x.ndim} axes, got {pad}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"unknown pad mode {mode!r}: use constant, reflect, replicate or circular")
    xp = x.xp
    for k in range(len(pad) // 2):
        axis = x.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        n = x.shape[axis]
        if before < 0 or after < 0:
            x = x[(slice(None),) * axis + (slice(max(0, -before), n - max(0, -after)),)]
            before, after, n = max(0, before), max(0, after), x.shape[axis]
        if not before and not after:
            continue
        if mode == "constant":
            pieces = []
            for width in (before, 0, after):
                if width:
                    shape = x.shape[:axis] + (width,) + x.shape[axis + 1 :]
                    fill = xp.full(shape, value, dtype=x.dtype, device=backends.device_of(x.data))
                    pieces.append(new_tensor(fill))
                else:
                    pieces.append(x)
            pieces = [p for p, w in zip(pieces, (before, 1, after)) if w]
            x = _op["Concat"].apply(*pieces, axis=axis)
            continue
        positions = xp.arange(-before, n + after, device=backends.device_of(x.data))
        if mode == "replicate":
            positions = xp.clip(positions, 0, n - 1)
        elif mode == "circular":
            positions = positions % n
        else:
            if before >= n or after >= n:
                raise ValueError(f"reflect padding of {before, after} needs fewer than {n} entries")
            positions = xp.abs(positions)
            positions = xp.where(positions > n - 1, 2 * (n - 1) - positions, positions)
        x = x.take(positions, axis=axis)
    return x


# ------------------------------------------------------------ creation
def linspace(start, stop, num, dtype=None, backend=None, device=None, endpoint=True) -> Tensor:
    """``num`` evenly spaced numbers from ``start`` to ``stop`` (default float dtype)."""
    xp = backends.get_namespace(backend)
    dtype = backends.resolve_dtype(xp, dtype or backends.get_default_dtype())
    data = xp.linspace(
        start, stop, num, dtype=dtype, device=backends.resolve_device(xp, device), endpoint=endpoint
    )
    return new_tensor(data)


def full_like(t, fill_value, dtype=None, requires_grad=False) -> Tensor:
    """A tensor of ``t``'s shape, backend and device filled with ``fill_value``."""
    t = _tensor(t)
    xp = t.xp
    data = xp.full_like(t.data, fill_value, dtype=backends.resolve_dtype(xp, dtype))
    return new_tensor(data).requires_grad_(requires_grad)


def empty(*shape, dtype=None, backend=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor (the default float dtype)."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    xp = backends.get_namespace(backend)
    dtype = backends.resolve_dtype(xp, dtype or backends.get_default_dtype())
    data = xp.empty(shape, dtype=dtype, device=backends.resolve_device(xp, device))
    return new_tensor(data).requires_grad_(requires_grad)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids (PyTorch's default ``indexing="ij"``); differentiable (broadcasts)."""
    tensors = [_tensor(t) for t in tensors]
    if indexing not in ("ij", "xy"):
        raise ValueError(f"indexing must be 'ij' or 'xy', got {indexing!r}")
    shape = [t.shape[0] if t.ndim else 1 for t in tensors]
    if indexing == "xy" and len(tensors) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for i, t in enumerate(tensors):
        axis = i
        if indexing == "xy" and len(tensors) > 1 and i < 2:
            axis = 1 - i
        view = [1] * len(tensors)
        view[axis] = shape[axis]
        grids.append(t.reshape(tuple(view)).broadcast_to(tuple(shape)))
    return tuple(grids)
