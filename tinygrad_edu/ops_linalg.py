"""Linear algebra with derivatives: primitives for what has no composition, composites for the rest.

The primitives call the backend's ``xp.linalg`` and write their rules on
Tensors (``rules_on_tensors``) with other ops (``Inv`` inside ``Det``'s rule,
``Solve`` inside its own), so the rules can be differentiated again: Hessian-
vector products of ``solve``, ``inv``, ``det``, ``slogdet`` and the norms.
Throughout, ``A^T`` is the transpose of the last two axes and ``g`` the
gradient of the output; batch axes broadcast like matmul's.
"""

from __future__ import annotations

import math

from .function import Function, new_tensor

_op = Function.registry  # the core's ops by name (Where, Concat, Permute from ops.py)


def _as_array_tensor(g, like):
    """``g`` with a backend array inside: the plain pass may hand a rule a NumPy scalar for
    the gradient of a 0-d output (NumPy's 0-d arithmetic), which ops would take as another type."""
    if type(g.data) is not type(like.data):
        return new_tensor(like.xp.asarray(g.data))
    return g


def _column(v):
    return v.reshape(v.shape + (1,))


def _row(v):
    return v.reshape(v.shape[:-1] + (1, v.shape[-1]))


class Solve(Function):
    """X = solve(A, B), the X with A X = B (B a vector (n,) or matrices (..., n, k));
    dL/dB = solve(A^T, g),  dL/dA = -dL/dB X^T."""

    rules_on_tensors = True

    def forward(self, xp, a, b):
        return xp.linalg.solve(a, b)

    def backward(self, F, g, inputs, out):
        a, b = inputs
        if b.ndim == 1:  # one right-hand side, broadcast over a's batch: solve with it as a column
            grad_b = Solve.apply(a.mT, _column(g)).reshape(g.shape)
            grad_a = -_column(grad_b) * _row(out)
        else:
            grad_b = Solve.apply(a.mT, g)
            grad_a = -(grad_b @ out.mT)
        if not self.needs_input_grad[0]:
            grad_a = None
        return grad_a, (grad_b if self.needs_input_grad[1] else None)


class Inv(Function):
    """Y = A^-1;  dL/dA = -Y^T g Y^T."""

    rules_on_tensors = True

    def forward(self, xp, a):
        return xp.linalg.inv(a)

    def backward(self, F, g, inputs, out):
        y_t = out.mT
        return (-(y_t @ g @ y_t),)


class Det(Function):
    """d = det(A);  dL/dA = g d A^-T (Jacobi's formula)."""

    rules_on_tensors = True

    def forward(self, xp, a):
        return xp.linalg.det(a)

    def backward(self, F, g, inputs, out):
        a = inputs[0]
        g = _as_array_tensor(g, out)
        scale = (g * out).reshape(g.shape + (1, 1))
        return (scale * Inv.apply(a).mT,)


class LogAbsDet(Function):
    """l = log|det(A)| (slogdet's second output);  dL/dA = g A^-T."""

    rules_on_tensors = True

    def forward(self, xp, a):
        return xp.linalg.slogdet(a)[1]

    def backward(self, F, g, inputs, out):
        g = _as_array_tensor(g, out)
        return (g.reshape(g.shape + (1, 1)) * Inv.apply(inputs[0]).mT,)


class Cholesky(Function):
    """L = cholesky(A), A = L L^T (``upper``: U = L^T, A = U^T U);
    dL/dA = sym(L^-T Phi(L^T gL) L^-1), Phi = lower triangle with the diagonal halved,
    sym(S) = (S + S^T)/2 (Murray 2016, as PyTorch)."""

    rules_on_tensors = True

    def forward(self, xp, a, upper=False):
        self.upper = upper
        lower = xp.linalg.cholesky(a)
        return xp.matrix_transpose(lower) if upper else lower

    def backward(self, F, g, inputs, out):
        lower, g_lower = (out.mT, g.mT) if self.upper else (out, g)
        phi = (lower.mT @ g_lower).tril()
        phi = phi - 0.5 * _diagonal_matrix(phi)
        lower_inv = Inv.apply(lower)
        s = lower_inv.mT @ phi @ lower_inv
        return (0.5 * (s + s.mT),)


class Eigvalsh(Function):
    """w = eigenvalues of the symmetric A (ascending);  dL/dA = V diag(g) V^T."""

    rules_on_tensors = True

    def forward(self, xp, a):
        return xp.linalg.eigvalsh(a)

    def backward(self, F, g, inputs, out):
        v = EighVectors.apply(inputs[0])
        return ((v * _row(g)) @ v.mT,)


class EighVectors(Function):
    """V = eigenvectors of the symmetric A (columns, for ascending eigenvalues w);
    dL/dA = V (skew(V^T gV) / E) V^T,  skew(M) = (M - M^T)/2,  E_ij = w_j - w_i (i != j)
    (PyTorch's rule; distinct eigenvalues assumed)."""

    rules_on_tensors = True

    def forward(self, xp, a):
        self.eigenvalues = xp.linalg.eigh(a).eigenvalues
        return xp.linalg.eigh(a).eigenvectors

    def backward(self, F, g, inputs, out):
        xp = out.xp
        w = self.eigenvalues
        gaps = w[..., None, :] - w[..., :, None]
        n = w.shape[-1]
        eye = xp.eye(n, dtype=w.dtype)
        gaps = new_tensor(gaps + eye)  # the diagonal of skew(.) is 0: divide it by 1
        m = out.mT @ g
        inner = 0.5 * (m - m.mT) / gaps
        return (out @ inner @ out.mT,)


class _SvdFactor(Function):
    """One factor of the reduced SVD A = U diag(S) Vh (A of shape (..., m, n), k = min(m, n)).

    The rule of each factor is the part of PyTorch's ``svd_backward`` that its
    own gradient feeds (that rule is linear in (gU, gS, gVh), so it splits, as
    QR's does). The other factors enter as recorded ops, so second derivatives
    work. U and Vh have a derivative only for distinct singular values (and,
    where m != n, nonzero ones): otherwise ``E`` below has zeros and the
    gradient is inf/NaN, as in PyTorch. ``factors`` (the forward's own SVD,
    optional) spares recomputing it when the three factors are made together.
    """

    rules_on_tensors = True

    def svd(self, xp, a, factors):
        return xp.linalg.svd(a, full_matrices=False) if factors is None else factors


def _squared_gaps(s):
    """E_ij = s_j^2 - s_i^2 off the diagonal and 1 on it (where skew(.) is 0)."""
    s2 = s * s
    eye = new_tensor(s.xp.eye(s.shape[-1], dtype=s.dtype))
    return _row(s2) - _column(s2) + eye


def _skew(m):
    return m - m.mT


class SvdVals(_SvdFactor):
    """s = singular values of A (descending);  dL/dA = U diag(g) Vh."""

    def forward(self, xp, a, factors=None):
        u, s, vh = self.svd(xp, a, factors)
        self.u, self.vh = u, vh  # for the plain rule
        return s

    def backward(self, F, g, inputs, out):
        if F.recording:  # U and Vh recorded: the rule can be differentiated again
            u, vh = SvdU.apply(inputs[0]), SvdVh.apply(inputs[0])
        else:
            u, vh = new_tensor(self.u), new_tensor(self.vh)
        return ((u * _row(g)) @ vh,)


class SvdU(_SvdFactor):
    """U (..., m, k) of the reduced SVD; with J = skew(U^T g) / E * s_j (column j):
    dL/dA = (U J + (I - U U^T) g diag(1/s)) Vh  (the middle term only when m > k)."""

    def forward(self, xp, a, factors=None):
        return self.svd(xp, a, factors)[0]

    def backward(self, F, g, inputs, out):
        a, u = inputs[0], out
        s, vh = SvdVals.apply(a), SvdVh.apply(a)
        inner = u @ (_skew(u.mT @ g) * _row(s) / _squared_gaps(s))
        if a.shape[-2] > s.shape[-1]:  # tall: g's part outside U's columns
            g_over_s = g / _row(s)
            inner = inner + g_over_s - u @ (u.mT @ g_over_s)
        return (inner @ vh,)


class SvdVh(_SvdFactor):
    """Vh (..., k, n) of the reduced SVD; with J = s_i (row i) * skew(Vh g^T) / E:
    dL/dA = U (J Vh + diag(1/s) g (I - Vh^T Vh))  (the last term only when n > k)."""

    def forward(self, xp, a, factors=None):
        return self.svd(xp, a, factors)[2]

    def backward(self, F, g, inputs, out):
        a, vh = inputs[0], out
        s, u = SvdVals.apply(a), SvdU.apply(a)
        inner = (_column(s) * _skew(vh @ g.mT) / _squared_gaps(s)) @ vh
        if a.shape[-1] > s.shape[-1]:  # wide: g's part outside Vh's rows
            s_inv_g = g / _column(s)
            inner = inner + s_inv_g - (s_inv_g @ vh.mT) @ vh
        return (u @ inner,)


class NoDerivative(Function):
    """A value that has no derivative in its input: its rule raises ``message``.

    For results that are computed but not differentiable (the extra columns of a
    full SVD are not unique): a gradient through them is an error, not a silent 0.
    """

    def forward(self, xp, a, value, message):
        self.message = message
        return value

    def backward(self, F, g, inputs, out):
        raise ValueError(self.message)


def _copy_lower_to_upper(m):
    """tril(m) + tril(m, -1)^T: the lower triangle mirrored onto the upper one."""
    lower = m.tril()
    return lower + lower.tril(-1).mT


def _qr_grad(q, r, g_q, g_r):
    """dL/dA for A = Q R with R square: with M = R gR^T - gQ^T Q,
    dL/dA = (gQ + Q copyltu(M)) R^-T,  copyltu(M) = tril(M) + tril(M, -1)^T
    (PyTorch's rule; ``g_q`` or ``g_r`` may be None, the rule is linear in them)."""
    m = r @ g_r.mT if g_r is not None else None
    if g_q is not None:
        m = -(g_q.mT @ q) if m is None else m - g_q.mT @ q
    grad = q @ _copy_lower_to_upper(m)
    if g_q is not None:
        grad = grad + g_q
    return grad @ Inv.apply(r).mT


def _qr_wide_grad(a, q, r, g_q, g_r):
    """A (m x n, m < n) = [X | Y] with X square: X = Q U and Y = Q V for R = [U | V].
    Then dL/dY = Q gV, and dL/dX is the square rule with gQ + Y gV^T for gQ and gU for gR."""
    k = a.shape[-2]
    y = a[..., :, k:]
    g_x_q = g_q
    g_y = None
    g_u = None
    if g_r is not None:
        g_u, g_v = g_r[..., :, :k], g_r[..., :, k:]
        g_x_q = y @ g_v.mT if g_q is None else g_q + y @ g_v.mT
        g_y = q @ g_v
    g_x = _qr_grad(q, r[..., :, :k], g_x_q, g_u)
    if g_y is None:
        g_y = new_tensor(a.xp.zeros(y.shape, dtype=y.dtype))
    return _op["Concat"].apply(g_x, g_y, axis=a.ndim - 1)


class QrQ(Function):
    """Q of the reduced QR decomposition A = Q R (A of shape (..., m, n));
    dL/dA from gQ alone (``_qr_grad``, or ``_qr_wide_grad`` for m < n).

    Together with ``QrR``'s rule this is PyTorch's (linear in (gQ, gR), so it splits)."""

    rules_on_tensors = True

    def forward(self, xp, a):
        return xp.linalg.qr(a).Q

    def backward(self, F, g, inputs, out):
        a = inputs[0]
        r = QrR.apply(a)
        if a.shape[-2] < a.shape[-1]:
            return (_qr_wide_grad(a, out, r, g, None),)
        return (_qr_grad(out, r, g, None),)


class QrR(Function):
    """R of the reduced QR decomposition A = Q R;  dL/dA from gR alone (see ``QrQ``)."""

    rules_on_tensors = True

    def forward(self, xp, a):
        return xp.linalg.qr(a).R

    def backward(self, F, g, inputs, out):
        a = inputs[0]
        q = QrQ.apply(a)
        if a.shape[-2] < a.shape[-1]:
            return (_qr_wide_grad(a, q, out, None, g),)
        return (_qr_grad(q, out, None, g),)


# ------------------------------------------------------------ composites
def _diagonal_matrix(x):
    """x with everything off the diagonal of the last two axes set to 0."""
    xp = x.xp
    eye = xp.eye(x.shape[-2], x.shape[-1], dtype=x.dtype)
    return x * new_tensor(eye)


def tensordot(a, b, axes=2):
    """sum over the paired axes of a and b (the last ``axes`` of a with the first of b)."""
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError(f"tensordot needs axes >= 0, got {axes}")
        axes_a, axes_b = tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    else:
        axes_a, axes_b = (tuple(ax) for ax in axes)
    axes_a = tuple(i % a.ndim for i in axes_a)
    axes_b = tuple(i % b.ndim for i in axes_b)
    if len(axes_a) != len(axes_b) or any(a.shape[i] != b.shape[j] for i, j in zip(axes_a, axes_b)):
        raise ValueError(
            f"tensordot cannot pair axes {axes_a} of {a.shape} with {axes_b} of {b.shape}"
        )
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = math.prod(a.shape[i] for i in axes_a)
    a2 = (
        _op["Permute"]
        .apply(a, axes=tuple(free_a) + axes_a)
        .reshape((math.prod(a.shape[i] for i in free_a), k))
    )
    b2 = (
        _op["Permute"]
        .apply(b, axes=axes_b + tuple(free_b))
        .reshape((k, math.prod(b.shape[i] for i in free_b)))
    )
    shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return (a2 @ b2).reshape(shape)


def vecdot(a, b, axis=-1):
    """sum(a * b) over ``axis`` (real inputs)."""
    if a.shape[axis] != b.shape[axis]:
        raise ValueError(f"vecdot: axis {axis} differs in {a.shape} and {b.shape}")
    return (a * b).sum(axis=axis)


def outer(a, b):
    """out[i, j] = a[i] * b[j]."""
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer needs 1-D arrays, got {a.shape} and {b.shape}")
    return a.reshape((-1, 1)) * b.reshape((1, -1))


def trace(x, offset=0):
    """sum of the ``offset`` diagonal of the last two axes."""
    return x.diagonal(offset, -2, -1).sum(axis=-1)


def cross(a, b, axis=-1):
    """The cross product of 3-vectors along ``axis``."""
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ValueError(f"cross needs length 3 along axis {axis}, got {a.shape} and {b.shape}")
    a, b = a.moveaxis(axis, -1), b.moveaxis(axis, -1)
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))
    parts = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0]
    shape = parts[0].shape + (1,)
    out = _op["Concat"].apply(*[p.reshape(shape) for p in parts], axis=len(shape) - 1)
    return out.moveaxis(-1, axis)


def vector_norm(x, axis=None, keepdims=False, ord=2):
    """(sum |x|^p)^(1/p) over ``axis``; max |x| for inf, min |x| for -inf.

    For finite p the entries are divided by the (constant) largest |x| first and
    the result multiplied back: the same function, without overflow.
    """
    xp = x.xp
    axes = (
        tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    )
    axes = tuple(a % max(x.ndim, 1) for a in axes)
    magnitude = x.abs()
    if ord == math.inf:
        return magnitude.max(axis=axes, keepdims=keepdims)
    if ord == -math.inf:
        return magnitude.min(axis=axes, keepdims=keepdims)
    if ord == 0:
        count = xp.sum(xp.astype(x.data != 0, x.dtype), axis=axes, keepdims=keepdims)
        return new_tensor(count)
    if ord == 1:
        return magnitude.sum(axis=axes, keepdims=keepdims)
    if 0 in x.shape:
        return magnitude.sum(axis=axes, keepdims=keepdims)
    scale = xp.max(magnitude.data, axis=axes, keepdims=True)
    scale = new_tensor(xp.where((scale == 0) | ~xp.isfinite(scale), xp.ones_like(scale), scale))
    scaled = magnitude / scale
    powered = scaled * scaled if ord == 2 else scaled**ord
    total = powered.sum(axis=axes, keepdims=True)
    norm = (total.sqrt() if ord == 2 else total ** (1.0 / ord)) * scale
    if not keepdims:
        norm = norm.reshape(tuple(n for i, n in enumerate(norm.shape) if i not in axes))
    return norm


def matrix_norm(x, keepdims=False, ord="fro"):
    """Norms of the matrices in the last two axes: Frobenius, nuclear (sum of singular
    values), 2 / -2 (largest / smallest singular value), 1 / -1 and inf / -inf (largest /
    smallest column / row sum of |x|)."""
    if ord == "fro":
        out = vector_norm(x, axis=(-2, -1), keepdims=keepdims)
        return out
    if ord in ("nuc", 2, -2):
        s = SvdVals.apply(x)
        reduced = s.sum(axis=-1) if ord == "nuc" else s.max(axis=-1) if ord == 2 else s.min(axis=-1)
    elif ord in (1, -1, math.inf, -math.inf):
        sums = x.abs().sum(axis=-2 if ord in (1, -1) else -1)
        reduced = sums.max(axis=-1) if ord in (1, math.inf) else sums.min(axis=-1)
    else:
        raise ValueError(f"matrix_norm: unknown ord {ord!r}")
    return reduced.reshape(reduced.shape + (1, 1)) if keepdims else reduced


def matrix_power(x, n: int):
    """x multiplied by itself n times (the identity for 0, inverses for n < 0)."""
    if n < 0:
        x, n = Inv.apply(x), -n
    if n == 0:
        xp = x.xp
        eye = xp.broadcast_to(xp.eye(x.shape[-1], dtype=x.dtype), x.shape)
        return new_tensor(eye) + 0 * x
    result, base = None, x
    while n:  # square and multiply
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result
