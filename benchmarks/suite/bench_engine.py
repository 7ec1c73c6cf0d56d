"""Engine overhead: a long elementwise chain and the backward pass of a deep graph."""

import numpy as np

import tinygrad_edu as tg

from .common import gpu_backends, needs


class OpChain:
    """A 1000-op elementwise chain (mul, add, tanh, sin) on 8 elements, forward + backward.

    Dominated by per-op Python overhead: divide the time by 1000 for us/op.
    """

    params = gpu_backends()
    param_names = ["backend"]

    def setup(self, backend_name):
        with needs("tensor(backend=...)"):
            self.x0 = tg.tensor(np.linspace(-1, 1, 8), backend=backend_name)

    def time_chain_forward_backward(self, backend_name):
        x = self.x0.detach().requires_grad_()
        y = x
        for _ in range(250):
            y = (y * 1.0001 + 0.001).tanh().sin()
        y.sum().backward()


class DeepChainBackward:
    """backward() alone through a 10,000-op chain (the graph is built in setup)."""

    params = gpu_backends()
    param_names = ["backend"]
    number = 1
    repeat = 5

    def setup(self, backend_name):
        with needs("tensor(backend=...) and backward(retain_graph=...)"):
            x = tg.tensor(np.linspace(-1, 1, 8), backend=backend_name, requires_grad=True)
            y = x
            for _ in range(5000):
                y = (y * 0.9999).tanh()
            self.loss = y.sum()
            self.loss.backward(retain_graph=True)

    def time_backward(self, backend_name):
        self.loss.backward(retain_graph=True)
