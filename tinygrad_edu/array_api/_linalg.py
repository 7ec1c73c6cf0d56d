"""``xp.linalg``: the standard's linear-algebra extension over Tensors.

Differentiable on real floating inputs (ops_linalg.py): ``matmul, matrix_transpose,
tensordot, vecdot, outer, trace, diagonal, cross, vector_norm, matrix_norm,
matrix_power, solve, inv, det, slogdet`` (logabsdet), ``cholesky, eigh, eigvalsh``
(values and vectors), ``qr`` (reduced), ``svd`` (S, U and Vh; U and Vh of a
full SVD of a non-square matrix refuse a gradient), ``svdvals``. ``pinv`` and
``matrix_rank`` call the backend (plain Tensors).
"""

from __future__ import annotations

from collections import namedtuple

from .. import ops_linalg
from ._wrapping import plain_function, unwrap

PLAIN_LINALG = ("matrix_rank", "pinv")

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


class LinalgNamespace:
    """``xp.linalg`` of an ``ArrayNamespace``."""

    def __init__(self, parent):
        self._parent = parent
        self._standard = parent._standard.linalg
        for name in PLAIN_LINALG:
            setattr(self, name, plain_function(parent, getattr(self._standard, name)))

    def _call(self, name, *args, **kwargs):
        function = getattr(self._standard, name)
        return self._parent._wrap(
            function(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
        )

    def _tracked(self, *values):
        return self._parent._tracked(*values)

    def matmul(self, x1, x2, /):
        return self._parent.matmul(x1, x2)

    def matrix_transpose(self, x, /):
        return self._parent.matrix_transpose(x)

    def tensordot(self, x1, x2, /, *, axes=2):
        return self._parent.tensordot(x1, x2, axes=axes)

    def vecdot(self, x1, x2, /, *, axis=-1):
        return self._parent.vecdot(x1, x2, axis=axis)

    def outer(self, x1, x2, /):
        if self._tracked(x1, x2):
            return ops_linalg.outer(x1, x2)
        return self._call("outer", x1, x2)

    def trace(self, x, /, *, offset=0, dtype=None):
        if self._tracked(x):
            if dtype is not None and dtype != x.dtype:
                x = x.astype(dtype)
            return ops_linalg.trace(x, offset)
        return self._call("trace", x, offset=offset, dtype=dtype)

    def diagonal(self, x, /, *, offset=0):
        x = self._parent._tensor(x)
        return x.diagonal(offset, -2, -1)

    def cross(self, x1, x2, /, *, axis=-1):
        if self._tracked(x1, x2):
            x1, x2 = self._parent.broadcast_arrays(x1, x2)
            return ops_linalg.cross(x1, x2, axis)
        return self._call("cross", x1, x2, axis=axis)

    def vector_norm(self, x, /, *, axis=None, keepdims=False, ord=2):
        if self._tracked(x):
            return ops_linalg.vector_norm(x, axis, keepdims, ord)
        return self._call("vector_norm", x, axis=axis, keepdims=keepdims, ord=ord)

    def matrix_norm(self, x, /, *, keepdims=False, ord="fro"):
        if self._tracked(x):
            return ops_linalg.matrix_norm(x, keepdims, ord)
        return self._call("matrix_norm", x, keepdims=keepdims, ord=ord)

    def matrix_power(self, x, n, /):
        if self._tracked(x):
            return ops_linalg.matrix_power(x, n)
        return self._call("matrix_power", x, n)

    def solve(self, x1, x2, /):
        if self._tracked(x1, x2):
            return ops_linalg.Solve.apply(self._parent._tensor(x1), self._parent._tensor(x2))
        return self._call("solve", x1, x2)

    def inv(self, x, /):
        if self._tracked(x):
            return ops_linalg.Inv.apply(x)
        return self._call("inv", x)

    def det(self, x, /):
        if self._tracked(x):
            return ops_linalg.Det.apply(x)
        return self._call("det", x)

    def slogdet(self, x, /):
        if self._tracked(x):
            sign = self._call("slogdet", x).sign
            return SlogdetResult(sign, ops_linalg.LogAbsDet.apply(x))
        return self._call("slogdet", x)

    def cholesky(self, x, /, *, upper=False):
        if self._tracked(x):
            return ops_linalg.Cholesky.apply(x, upper=upper)
        return self._call("cholesky", x, upper=upper)

    def eigh(self, x, /):
        if self._tracked(x):
            return EighResult(ops_linalg.Eigvalsh.apply(x), ops_linalg.EighVectors.apply(x))
        return self._call("eigh", x)

    def eigvalsh(self, x, /):
        if self._tracked(x):
            return ops_linalg.Eigvalsh.apply(x)
        return self._call("eigvalsh", x)

    def qr(self, x, /, *, mode="reduced"):
        if not self._tracked(x) or mode not in ("reduced", "complete"):
            return self._call("qr", x, mode=mode)
        m, n = x.shape[-2:]
        if mode == "reduced" or m <= n:  # then complete is the reduced decomposition
            return QRResult(ops_linalg.QrQ.apply(x), ops_linalg.QrR.apply(x))
        # complete, m > n: R is the reduced R over m - n zero rows; Q's extra columns are not unique
        full_q = self._standard.qr(x.data, mode="complete").Q
        message = (
            "linalg.qr: Q of mode='complete' for a tall matrix has no derivative (its "
            "extra columns are not unique); use mode='reduced'"
        )
        r = ops_linalg.QrR.apply(x)
        zeros = self._parent.zeros(x.shape[:-2] + (m - n, n), dtype=x.dtype, device=x.device)
        r = self._parent.concat([r, zeros], axis=-2)
        return QRResult(ops_linalg.NoDerivative.apply(x, full_q, message), r)

    def svd(self, x, /, *, full_matrices=True):
        if not self._tracked(x):
            return self._call("svd", x, full_matrices=full_matrices)
        reduced = self._standard.svd(x.data, full_matrices=False)
        s = ops_linalg.SvdVals.apply(x, factors=reduced)
        if not full_matrices or x.shape[-2] == x.shape[-1]:  # then full is the reduced SVD
            u = ops_linalg.SvdU.apply(x, factors=reduced)
            return SVDResult(u, s, ops_linalg.SvdVh.apply(x, factors=reduced))
        full = self._standard.svd(x.data, full_matrices=True)
        message = (
            "linalg.svd: U and Vh of full_matrices=True for a non-square matrix have no "
            "derivative (their extra columns are not unique); use full_matrices=False"
        )
        u, vh = (ops_linalg.NoDerivative.apply(x, f, message) for f in (full.U, full.Vh))
        return SVDResult(u, s, vh)

    def svdvals(self, x, /):
        if self._tracked(x):
            return ops_linalg.SvdVals.apply(x)
        return self._call("svdvals", x)
