"""MLP training steps (forward + backward + SGD update) for the three workloads."""

import tinygrad_edu as tg

from .common import WORKLOADS, gpu_backends, implementations, needs

NN_OPTIM = "nn, optim and nn.functional"


class TrainingStep:
    """One SGD step of W1 (digits, batch 64), W2 (784-512-512-10, batch 256), W3 (tiny tanh net)."""

    params = (list(WORKLOADS), gpu_backends())
    param_names = ["workload", "backend"]

    def setup(self, workload_name, backend_name):
        workload = WORKLOADS[workload_name]()
        with needs(NN_OPTIM), tg.default_backend(backend_name):
            self.model = implementations.TinygradEdu().load().mlp(workload)
            self.model.step()  # warm up

    def time_step(self, workload_name, backend_name):
        self.model.step()


class NumpyFloor:
    """The hand-written NumPy forward/backprop of the same workloads: the floor."""

    params = list(WORKLOADS)
    param_names = ["workload"]

    def setup(self, workload_name):
        self.model = implementations.NumpyFloor().load().mlp(WORKLOADS[workload_name]())
        self.model.step()

    def time_step(self, workload_name):
        self.model.step()


class PeakMemoryW2:
    """Peak memory of 20 W2 training steps, ours and the NumPy floor's."""

    def setup(self):
        with needs(NN_OPTIM):
            from tinygrad_edu import nn, optim  # noqa: F401

    def peakmem_w2_tinygrad_edu(self):
        model = implementations.TinygradEdu().load().mlp(WORKLOADS["W2_784_512_512_10"]())
        for _ in range(20):
            model.step()

    def peakmem_w2_numpy_floor(self):
        model = implementations.NumpyFloor().load().mlp(WORKLOADS["W2_784_512_512_10"]())
        for _ in range(20):
            model.step()
