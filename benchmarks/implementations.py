"""The same workloads written against each library, one class per library.

Every class has

- ``name`` and ``load()``: import the library (raise ``ImportError`` if absent);
- ``mlp(workload)``: an object whose ``step()`` runs one SGD training step
  (forward, loss, backward, parameter update) on the next batch, cycling
  through ``workload.batches`` in order, and whose ``params()`` returns
  ``[W0, b0, W1, b1, ...]`` as NumPy arrays in the workload's layout
  (``W`` of shape ``(in, out)``);
- ``chain(workload)``: a function that records the op chain from a fresh leaf,
  back-propagates ``sum()`` and returns the gradient as a NumPy array.

Batches are converted to each library's types once, at setup, so the timed
step measures the library rather than data conversion. Imports happen in
``load()`` so that importing this module costs nothing (asv reuses it).
"""

from __future__ import annotations

import numpy as np

try:
    from . import workloads as wl
except ImportError:  # run as a script from benchmarks/
    import workloads as wl


def chain_op_names(n_ops):
    return [wl.CHAIN_OPS[k % len(wl.CHAIN_OPS)] for k in range(n_ops)]


class _BatchCycler:
    """Hands out the workload's batches in order, wrapping around."""

    def __init__(self, batches):
        self.batches = batches
        self.index = 0

    def next_batch(self):
        batch = self.batches[self.index]
        self.index = (self.index + 1) % len(self.batches)
        return batch


# --------------------------------------------------------------------------
# (a) hand-written NumPy: the floor
# --------------------------------------------------------------------------
class NumpyFloor:
    """Hand-written forward and backprop with the lecture's equations.

    Forward ``z^l = a^{l-1} W^l + b^l``, ``a^l = f(z^l)``; output error
    ``delta^L = (softmax(z^L) - onehot(y)) / B`` for cross-entropy or
    ``2 (z^L - y) / (B * n_out)`` for MSE; ``delta^l = (delta^{l+1} W^{l+1 T})
    * f'(z^l)``; ``dW^l = a^{l-1 T} delta^l``, ``db^l = sum_rows(delta^l)``.
    Every buffer is allocated once; the step writes into them with ``out=``
    and updates the parameters in place. ``f'`` is taken from the stored
    activation: ``relu' = (a > 0)``, ``tanh' = 1 - a^2``.
    """

    name = "numpy (hand-written)"

    def load(self):
        return self

    class MLP:
        def __init__(self, workload):
            self.data = _BatchCycler(workload.batches)
            self.loss = workload.loss
            self.activation = workload.activation
            self.lr = workload.lr
            self.W = [w.copy() for w in workload.weights]
            self.b = [b.copy() for b in workload.biases]
            batch, dtype = workload.batch_size, workload.weights[0].dtype
            widths = workload.sizes[1:]
            self.a = [np.empty((batch, n), dtype) for n in widths]  # z, then f(z) in place
            self.delta = [np.empty((batch, n), dtype) for n in widths]
            self.scratch = [np.empty((batch, n), dtype) for n in widths]
            self.dW = [np.empty_like(w) for w in self.W]
            self.db = [np.empty_like(b) for b in self.b]
            self.rows = np.arange(batch)

        def step(self):
            x, y = self.data.next_batch()
            n_layers = len(self.W)
            a_prev = x
            for layer in range(n_layers):
                z = self.a[layer]
                np.matmul(a_prev, self.W[layer], out=z)
                z += self.b[layer]
                if layer < n_layers - 1:
                    if self.activation == "relu":
                        np.maximum(z, 0, out=z)
                    else:
                        np.tanh(z, out=z)
                a_prev = z

            out, delta = self.a[-1], self.delta[-1]
            if self.loss == "cross_entropy":
                np.subtract(out, out.max(axis=1, keepdims=True), out=delta)
                np.exp(delta, out=delta)
                delta /= delta.sum(axis=1, keepdims=True)
                delta[self.rows, y] -= 1
                delta *= 1.0 / len(y)
            else:
                np.subtract(out, y, out=delta)
                delta *= 2.0 / delta.size

            for layer in range(n_layers - 1, -1, -1):
                a_prev = x if layer == 0 else self.a[layer - 1]
                np.matmul(a_prev.T, delta, out=self.dW[layer])
                np.sum(delta, axis=0, out=self.db[layer])
                if layer > 0:
                    delta_prev = self.delta[layer - 1]
                    np.matmul(delta, self.W[layer].T, out=delta_prev)
                    fprime = self.scratch[layer - 1]
                    if self.activation == "relu":
                        np.greater(a_prev, 0, out=fprime)
                    else:
                        np.multiply(a_prev, a_prev, out=fprime)
                        np.subtract(1, fprime, out=fprime)
                    delta_prev *= fprime
                    delta = delta_prev
                # W^l is no longer needed for this step: update it now.
                self.dW[layer] *= self.lr
                self.W[layer] -= self.dW[layer]
                self.db[layer] *= self.lr
                self.b[layer] -= self.db[layer]

        def params(self):
            return [p for pair in zip(self.W, self.b, strict=True) for p in pair]

    def mlp(self, workload):
        return self.MLP(workload)

    def chain(self, workload):
        names = chain_op_names(workload.n_ops)
        x0 = workload.x0
        mul, add = wl.CHAIN_MUL, wl.CHAIN_ADD

        def run():
            # Forward keeps only what backward needs: tanh's output, sin's input.
            # An array is updated in place unless it is saved on the tape.
            tape = []
            y = x0.copy()
            y_saved = False
            for name in names:
                if name == "mul":
                    if y_saved:
                        y = y * mul
                    else:
                        y *= mul
                    y_saved = False
                    tape.append(None)
                elif name == "add":
                    if y_saved:
                        y = y + add
                    else:
                        y += add
                    y_saved = False
                    tape.append(None)
                elif name == "tanh":
                    y = np.tanh(y)
                    tape.append(y)
                    y_saved = True
                else:  # sin
                    tape.append(y)
                    y = np.sin(y)
                    y_saved = False
            grad = np.ones_like(y)
            scratch = np.empty_like(y)
            for name, saved in zip(reversed(names), reversed(tape), strict=True):
                if name == "mul":
                    grad *= mul
                elif name == "tanh":
                    np.multiply(saved, saved, out=scratch)
                    np.subtract(1, scratch, out=scratch)
                    grad *= scratch
                elif name == "sin":
                    np.cos(saved, out=scratch)
                    grad *= scratch
            return grad

        return run


# --------------------------------------------------------------------------
# (b) tinygrad_edu, written against /work/shared/API.md
# --------------------------------------------------------------------------
class TinygradEdu:
    name = "tinygrad_edu"

    def load(self):
        import tinygrad_edu as tg

        self.tg = tg
        return self

    class MLP:
        def __init__(self, tg, workload):
            # Imported here so the op chain runs even before nn/optim exist.
            import tinygrad_edu.nn.functional as F
            from tinygrad_edu import nn, optim

            self.linears = []
            layers = []
            for W, b in zip(workload.weights, workload.biases, strict=True):
                linear = nn.Linear(*W.shape)
                linear.load_state_dict({"weight": W.copy(), "bias": b.copy()})
                self.linears.append(linear)
                layers += [linear, nn.ReLU() if workload.activation == "relu" else nn.Tanh()]
            self.model = nn.Sequential(*layers[:-1])
            self.opt = optim.SGD(self.model.parameters(), lr=workload.lr)
            self.loss_fn = F.cross_entropy if workload.loss == "cross_entropy" else F.mse_loss
            self.data = _BatchCycler([(tg.tensor(x), tg.tensor(y)) for x, y in workload.batches])

        def step(self):
            x, y = self.data.next_batch()
            self.opt.zero_grad()
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            self.opt.step()

        def params(self):
            return [p.numpy() for lin in self.linears for p in (lin.weight, lin.bias)]

    def mlp(self, workload):
        return self.MLP(self.tg, workload)

    @staticmethod
    def chain_ops(workload):
        """The op chain as Tensor methods, one function per op (eager and compiled alike)."""
        mul, add = wl.CHAIN_MUL, wl.CHAIN_ADD
        ops = {
            "mul": lambda t: t * mul,
            "add": lambda t: t + add,
            "tanh": lambda t: t.tanh(),
            "sin": lambda t: t.sin(),
        }
        return [ops[name] for name in chain_op_names(workload.n_ops)]

    def chain(self, workload):
        tg = self.tg
        chain = self.chain_ops(workload)
        x0 = workload.x0

        def run():
            x = tg.tensor(x0, requires_grad=True)
            y = x
            for op in chain:
                y = op(y)
            y.sum().backward()
            return x.grad.numpy()

        return run


class TinygradEduCompiled(TinygradEdu):
    """The same step and chain under ``tg.compile``: captured once, then replayed.

    The step returns nothing, so that the replay does the floor's work: the
    floor never computes the loss's value (only its gradient), and neither does
    a replay whose step does not return it (the calls are dropped as unused).
    ``TinygradEduCompiledLoss`` returns the loss, as a training loop would.
    """

    name = "tinygrad_edu compiled"
    returns_loss = False

    class MLP(TinygradEdu.MLP):
        def __init__(self, tg, workload, returns_loss=False):
            super().__init__(tg, workload)
            model, opt, loss_fn = self.model, self.opt, self.loss_fn

            def train_step(x, y):
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
                return loss if returns_loss else None

            self.compiled = tg.compile(train_step)

        def step(self):
            x, y = self.data.next_batch()
            self.compiled(x, y)

    def mlp(self, workload):
        return self.MLP(self.tg, workload, self.returns_loss)

    def chain(self, workload):
        tg = self.tg
        chain = self.chain_ops(workload)
        x0 = workload.x0

        def forward_backward(x):
            y = x
            for op in chain:
                y = op(y)
            y.sum().backward()
            return x.grad

        compiled = tg.compile(forward_backward)

        def run():
            return compiled(tg.tensor(x0, requires_grad=True)).numpy()

        run()  # eager, then the capture: compare.py's check then sees a replay
        run()
        return run


class TinygradEduCompiledLoss(TinygradEduCompiled):
    """The compiled step returning its loss (the replay then computes the loss's value too)."""

    name = "tinygrad_edu compiled, loss returned"
    returns_loss = True

    def chain(self, workload):
        raise NotImplementedError("the op chain has no loss to return: see tinygrad_edu compiled")


# --------------------------------------------------------------------------
# (c) PyTorch eager on the CPU
# --------------------------------------------------------------------------
class Torch:
    name = "pytorch"

    def load(self):
        import torch

        self.torch = torch
        return self

    class MLP:
        def __init__(self, torch, workload):
            import torch.nn.functional as F

            layers = []
            self.linears = []
            for W, b in zip(workload.weights, workload.biases, strict=True):
                linear = torch.nn.Linear(*W.shape)
                with torch.no_grad():  # torch stores W^T: (out, in)
                    linear.weight.copy_(torch.from_numpy(W.T))
                    linear.bias.copy_(torch.from_numpy(b))
                self.linears.append(linear)
                act = torch.nn.ReLU() if workload.activation == "relu" else torch.nn.Tanh()
                layers += [linear, act]
            self.model = torch.nn.Sequential(*layers[:-1])
            self.opt = torch.optim.SGD(self.model.parameters(), lr=workload.lr)
            self.loss_fn = F.cross_entropy if workload.loss == "cross_entropy" else F.mse_loss
            self.data = _BatchCycler(
                [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in workload.batches]
            )

        def step(self):
            x, y = self.data.next_batch()
            self.opt.zero_grad()
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            self.opt.step()

        def params(self):
            out = []
            for lin in self.linears:
                out += [lin.weight.detach().numpy().T, lin.bias.detach().numpy()]
            return out

    def mlp(self, workload):
        return self.MLP(self.torch, workload)

    def chain(self, workload):
        torch = self.torch
        mul, add = wl.CHAIN_MUL, wl.CHAIN_ADD
        ops = {
            "mul": lambda t: t * mul,
            "add": lambda t: t + add,
            "tanh": torch.tanh,
            "sin": torch.sin,
        }
        chain = [ops[name] for name in chain_op_names(workload.n_ops)]
        x0 = workload.x0

        def run():
            x = torch.tensor(x0, requires_grad=True)
            y = x
            for op in chain:
                y = op(y)
            y.sum().backward()
            return x.grad.numpy()

        return run


# --------------------------------------------------------------------------
# (d) HIPS autograd: functional, grad of a loss function of the parameters
# --------------------------------------------------------------------------
class HipsAutograd:
    name = "autograd (HIPS)"

    def load(self):
        import autograd
        import autograd.numpy as anp
        from autograd.scipy.special import logsumexp

        self.grad, self.anp, self.logsumexp = autograd.grad, anp, logsumexp
        return self

    class MLP:
        def __init__(self, lib, workload):
            anp, logsumexp = lib.anp, lib.logsumexp
            act = (lambda z: anp.maximum(z, 0.0)) if workload.activation == "relu" else anp.tanh
            rows = np.arange(workload.batch_size)

            def loss(params, x, y):
                a = x
                n_layers = len(params) // 2
                for layer in range(n_layers):
                    a = anp.dot(a, params[2 * layer]) + params[2 * layer + 1]
                    if layer < n_layers - 1:
                        a = act(a)
                if workload.loss == "cross_entropy":
                    log_probs = a - logsumexp(a, axis=1, keepdims=True)
                    return -anp.mean(log_probs[rows, y])
                return anp.mean((a - y) ** 2)

            self.grad_fn = lib.grad(loss)
            self.lr = workload.lr
            self.data = _BatchCycler(workload.batches)
            self.parameters = [
                p.copy()
                for pair in zip(workload.weights, workload.biases, strict=True)
                for p in pair
            ]

        def step(self):
            x, y = self.data.next_batch()
            grads = self.grad_fn(self.parameters, x, y)
            for p, g in zip(self.parameters, grads, strict=True):
                p -= self.lr * g

        def params(self):
            return self.parameters

    def mlp(self, workload):
        return self.MLP(self, workload)

    def chain(self, workload):
        anp = self.anp
        mul, add = wl.CHAIN_MUL, wl.CHAIN_ADD
        ops = {"mul": lambda t: t * mul, "add": lambda t: t + add, "tanh": anp.tanh, "sin": anp.sin}
        chain = [ops[name] for name in chain_op_names(workload.n_ops)]

        def f(x):
            y = x
            for op in chain:
                y = op(y)
            return anp.sum(y)

        grad_f = self.grad(f)
        x0 = workload.x0
        return lambda: grad_f(x0)


# --------------------------------------------------------------------------
# (e) mygrad
# --------------------------------------------------------------------------
class MyGrad:
    name = "mygrad"

    def load(self):
        import mygrad
        from mygrad.nnet.activations import relu
        from mygrad.nnet.losses import softmax_crossentropy

        self.mg, self.relu, self.softmax_crossentropy = mygrad, relu, softmax_crossentropy
        return self

    class MLP:
        def __init__(self, lib, workload):
            mg = lib.mg
            self.mg = mg
            self.act = lib.relu if workload.activation == "relu" else mg.tanh
            if workload.loss == "cross_entropy":
                self.loss_fn = lib.softmax_crossentropy
            else:
                self.loss_fn = lambda pred, y: mg.mean((pred - y) ** 2)
            self.lr = workload.lr
            self.data = _BatchCycler(workload.batches)
            self.parameters = [
                mg.tensor(p.copy())
                for pair in zip(workload.weights, workload.biases, strict=True)
                for p in pair
            ]

        def step(self):
            x, y = self.data.next_batch()
            a = x
            n_layers = len(self.parameters) // 2
            for layer in range(n_layers):
                a = self.mg.matmul(a, self.parameters[2 * layer]) + self.parameters[2 * layer + 1]
                if layer < n_layers - 1:
                    a = self.act(a)
            loss = self.loss_fn(a, y)
            loss.backward()
            # mygrad clears .grad when a tensor enters a new graph: no zero_grad.
            for p in self.parameters:
                p.data -= self.lr * p.grad

        def params(self):
            return [p.data for p in self.parameters]

    def mlp(self, workload):
        return self.MLP(self, workload)

    def chain(self, workload):
        mg = self.mg
        mul, add = wl.CHAIN_MUL, wl.CHAIN_ADD
        ops = {"mul": lambda t: t * mul, "add": lambda t: t + add, "tanh": mg.tanh, "sin": mg.sin}
        chain = [ops[name] for name in chain_op_names(workload.n_ops)]
        x0 = workload.x0

        def run():
            x = mg.tensor(x0)
            y = x
            for op in chain:
                y = op(y)
            mg.sum(y).backward()
            return x.grad

        return run


# --------------------------------------------------------------------------
# (f) JAX: the whole step under jax.jit, XLA pinned to one CPU thread
# --------------------------------------------------------------------------
class JaxJit:
    name = "jax.jit"

    def load(self):
        import os
        import sys

        if "jax" not in sys.modules:  # XLA reads its flags once, at import
            os.environ["XLA_FLAGS"] = (
                os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
            ).strip()
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
        # That flag alone still left XLA:CPU (jax 0.10) running one matmul on 3 threads
        # (per-thread CPU time in /proc/self/task). XLA sizes its thread pool by the CPUs
        # this thread may run on when the CPU client is made: one CPU while it is made
        # gives a pool of one, the affinity is restored afterwards.
        allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        if allowed:
            os.sched_setaffinity(0, {min(allowed)})
        try:
            import jax

            jax.config.update("jax_enable_x64", True)  # the op chain is float64
            jax.devices()  # the CPU client (and its thread pool) is made now
        finally:
            if allowed:
                os.sched_setaffinity(0, allowed)
        self.jax = jax
        return self

    class MLP:
        def __init__(self, jax, workload):
            jnp = jax.numpy
            act = (lambda z: jnp.maximum(z, 0.0)) if workload.activation == "relu" else jnp.tanh
            lr = workload.lr

            def loss(params, x, y):
                a = x
                n_layers = len(params) // 2
                for layer in range(n_layers):
                    a = a @ params[2 * layer] + params[2 * layer + 1]
                    if layer < n_layers - 1:
                        a = act(a)
                if workload.loss == "cross_entropy":
                    log_probs = a - jax.nn.logsumexp(a, axis=1, keepdims=True)
                    return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))
                return jnp.mean((a - y) ** 2)

            def update(params, x, y):
                grads = jax.grad(loss)(params, x, y)
                return [p - lr * g for p, g in zip(params, grads, strict=True)]

            self.update = jax.jit(update)
            self.data = _BatchCycler(
                [(jnp.asarray(x), jnp.asarray(y)) for x, y in workload.batches]
            )
            self.parameters = [
                jnp.asarray(p) for pair in zip(workload.weights, workload.biases, strict=True)
                for p in pair
            ]  # fmt: skip

        def step(self):
            x, y = self.data.next_batch()
            self.parameters = self.update(self.parameters, x, y)
            self.parameters[0].block_until_ready()

        def params(self):
            return [np.asarray(p) for p in self.parameters]

    def mlp(self, workload):
        return self.MLP(self.jax, workload)

    def chain(self, workload):
        jax = self.jax
        jnp = jax.numpy
        mul, add = wl.CHAIN_MUL, wl.CHAIN_ADD
        ops = {"mul": lambda t: t * mul, "add": lambda t: t + add, "tanh": jnp.tanh, "sin": jnp.sin}
        chain = [ops[name] for name in chain_op_names(workload.n_ops)]

        def f(x):
            y = x
            for op in chain:
                y = op(y)
            return jnp.sum(y)

        grad_f = jax.jit(jax.grad(f))
        x0 = jnp.asarray(workload.x0)
        return lambda: np.asarray(grad_f(x0))


ALL = [
    NumpyFloor, TinygradEdu, TinygradEduCompiled, TinygradEduCompiledLoss, Torch, HipsAutograd,
    MyGrad, JaxJit,
]  # fmt: skip
