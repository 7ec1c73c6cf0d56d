"""A fused primitive for the GRU: one direction of one layer over a whole sequence.

Composed from Tensor operations (``nn.rnn.cell_step``), a GRU step records
about 15 nodes, and backpropagation through time visits each of them: for the
MNIST-1D paper's bidirectional GRU (40 steps, hidden size 6, batch 100) that
is some 1,200 nodes forward and as many backward per training step, and the
Python overhead per node dominates (measured on NumPy, 1 thread, loaded
2-core machine: 58 ms per training step composed, against 32 ms for PyTorch's
native GRU; see docs/performance.md for the fused figure). This op computes
the same recurrence in one node, stepping through time on raw arrays, and
writes backpropagation through time out by hand.

Forward, for t in order (reversed for the backward direction of a
bidirectional layer), with p_t = x_t W_ih^T + b_ih given (all steps in one
matrix product outside) and a_t = h_{t-1} W_hh^T + b_hh split as (a_r, a_z, a_n):

    r, z = sigma(p_r + a_r), sigma(p_z + a_z)
    n = tanh(p_n + r * a_n)
    h_t = n + z * (h_{t-1} - n)

Backward, from the last step computed to the first, with d = dL/dh_t (the
upstream gradient of h_t plus what step t + 1 sent back):

    dz = d (h_{t-1} - n);   dn = d (1 - z);   da_n' = dn (1 - n^2)
    dr = da_n' a_n;         d(p_r, p_z) = (dr, dz) * rz (1 - rz)
    dp_t = (dp_r, dp_z, da_n');   da_t = (dp_r, dp_z, da_n' r)
    dL/dh_{t-1} = d z + da_t W_hh;   dW_hh = sum_t da_t^T h_{t-1};   db_hh = sum_t da_t

On an ordinary backward pass this runs on raw arrays. Under
``create_graph=True`` the rule instead re-runs the composite recurrence on
the inputs as recorded Tensors and differentiates it with ``grad``, so
second derivatives are those of the composite and exact.
"""

from __future__ import annotations

from . import backend
from .autograd import grad
from .function import Function
from .functional import stack
from .fused import linear
from .tensor import Tensor


def gru_cell(projected: Tensor, h: Tensor, w_hh_t: Tensor, b_hh) -> Tensor:
    """One GRU step composed from Tensor operations, given p = x W_ih^T + b_ih and W_hh^T."""
    hidden = h.shape[-1]
    recurrent = linear(h, w_hh_t, b_hh)
    rz = (projected[..., : 2 * hidden] + recurrent[..., : 2 * hidden]).sigmoid()
    r, z = rz[..., :hidden], rz[..., hidden:]
    n = (projected[..., 2 * hidden :] + r * recurrent[..., 2 * hidden :]).tanh()
    return n + z * (h - n)  # (1 - z) n + z h


def gru_recurrence(projected, h0, w_hh, b_hh, reverse: bool = False) -> Tensor:
    """The composite recurrence: ``gru_cell`` over time; outputs (L, N, H)."""
    steps = projected.shape[0]
    w_hh_t = w_hh.T
    outputs = [None] * steps
    h = h0
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        h = gru_cell(projected[t], h, w_hh_t, b_hh)
        outputs[t] = h
    return stack(outputs, axis=0)


class GRUSequence(Function):
    """outputs (L, N, H) of a GRU direction given p = x W_ih^T + b_ih (L, N, 3H), h0 (N, H),
    W_hh (3H, H) and b_hh (3H,) or None; the derivatives are in the module docstring."""

    def forward(self, xp, projected, h0, w_hh, b_hh, reverse):
        self.reverse = reverse
        hidden = h0.shape[-1]
        steps = projected.shape[0]
        w_hh_t = w_hh.mT
        outputs = [None] * steps
        self.saved = saved = [None] * steps  # (h_{t-1}, rz, n, a_n) per step
        # b_hh's r and z parts added to every step's projection at once; the n part
        # stays inside r * (h W_hn^T + b_hn)
        p_rz = projected[..., : 2 * hidden]
        p_n = projected[..., 2 * hidden :]
        b_n = None
        if b_hh is not None:
            p_rz, b_n = p_rz + b_hh[: 2 * hidden], b_hh[2 * hidden :]
        h = h0
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            recurrent = h @ w_hh_t
            # sigma(x) = (1 + tanh(x / 2)) / 2: three array operations, never overflows
            rz = xp.tanh((p_rz[t, ...] + recurrent[:, : 2 * hidden]) * 0.5) * 0.5 + 0.5
            a_n = recurrent[:, 2 * hidden :]
            if b_n is not None:
                a_n = a_n + b_n
            n = xp.tanh(p_n[t, ...] + rz[:, :hidden] * a_n)
            saved[t] = (h, rz, n, a_n)
            h = n + rz[:, hidden:] * (h - n)
            outputs[t] = h
        return xp.stack(outputs, axis=0)

    def backward(self, F, g, inputs, out):
        if F.recording:
            return self._recorded_backward(g, inputs)
        xp = backend.namespace_of(g)
        _, _, w_hh, b_hh = inputs
        hidden = w_hh.shape[-1]
        steps = len(self.saved)
        grad_projected = [None] * steps
        grad_recurrent = [None] * steps
        d = None
        for t in range(steps) if self.reverse else range(steps - 1, -1, -1):
            h_prev, rz, n, a_n = self.saved[t]
            d = g[t, ...] if d is None else d + g[t, ...]
            r, z = rz[:, :hidden], rz[:, hidden:]
            d_z = d * (h_prev - n)
            d_an = d * (1 - z) * (1 - n * n)
            d_rz = xp.concat([d_an * a_n, d_z], axis=-1) * rz * (1 - rz)
            grad_projected[t] = xp.concat([d_rz, d_an], axis=-1)
            grad_recurrent[t] = d_a = xp.concat([d_rz, d_an * r], axis=-1)
            d = d * z + d_a @ w_hh
        grads_a = xp.stack(grad_recurrent, axis=0)  # (L, N, 3H)
        previous = xp.stack([s[0] for s in self.saved], axis=0)  # h_{t-1} (L, N, H)
        flat_a = xp.reshape(grads_a, (-1, 3 * hidden))
        needs = self.needs_input_grad
        return (
            xp.stack(grad_projected, axis=0) if needs[0] else None,
            d if needs[1] else None,
            flat_a.mT @ xp.reshape(previous, (-1, hidden)) if needs[2] else None,
            xp.sum(flat_a, axis=0) if b_hh is not None and needs[3] else None,
        )

    def _recorded_backward(self, g, inputs):
        tracked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
        outputs = gru_recurrence(*inputs, self.reverse)
        grads = iter(grad(outputs, tracked, grad_outputs=g, create_graph=True, allow_unused=True))
        return tuple(
            next(grads) if isinstance(t, Tensor) and t.requires_grad else None for t in inputs
        )


def gru_sequence(projected: Tensor, h0: Tensor, w_hh: Tensor, b_hh=None, reverse=False) -> Tensor:
    """One GRU direction over a sequence as one node (see ``GRUSequence``)."""
    return GRUSequence.apply(projected, h0, w_hh, b_hh, reverse=reverse)
