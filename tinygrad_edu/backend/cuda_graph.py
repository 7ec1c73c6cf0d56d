"""CUDA-graph capture of a step's array calls on CuPy: ``graph_function``.

A CUDA graph is a recording of the kernels a stream was given, launched again
as one unit: one launch instead of one Python call and one kernel launch per
array call. The recorded kernels keep the addresses they were captured with, so
every array the step reads or writes must stay at its address:

* a *bound* input (a parameter the step updates in place) is read and written
  where it is: every call must pass that very array;
* any other input is copied, before each launch, into a buffer the graph owns;
* what the step allocates while it is captured (temporaries and outputs) comes
  from a memory pool private to the graph, kept until the graph is dropped:
  a temporary freed during the capture is reused later in the same capture
  (safe: the kernels of one stream run in order), never by code outside it.

Capturing executes nothing; the first call captures, then launches. Host reads
(``.item()``, ``bool(array)``), transfers from the host (``asarray`` of Python
data) and random draws cannot be captured, and Python numbers inside the step
are frozen into the graph. CuPy also refuses every cuBLAS call (matmul) while a
stream captures (``cupy_backends/cuda/libs/cublas.pyx``, ``setStream``; issue
cupy/cupy#6290): such a step raises ``GraphCaptureFailed``, and the caller
replays it plainly.

This code has never run: no GPU was lent to the sessions that wrote it. It is
written from CuPy's source (``cupy/cuda/stream.pyx``, ``graph.pyx``,
``memory.pyx``) and exercised only by ``scripts/gpu-check``
(``tests/test_gpu.py``).
"""

from __future__ import annotations

import contextlib
import sys

from .namespaces import backend_name


class GraphInputMoved(ValueError):
    """An input does not fit the captured graph: a bound input is another array than at
    capture, or another input's shape or dtype changed. Nothing was launched."""


class GraphCaptureFailed(RuntimeError):
    """The step could not be captured (its ``__cause__`` says why). Nothing it asked
    for ran, so its state is unchanged: replay it plainly instead."""


def graph_function(xp, fn, bound):
    """``fn`` captured once as a CUDA graph and launched on every later call (CuPy); None
    for any other namespace.

    ``fn(*inputs)`` returns a tuple of arrays and makes only array calls on the
    device: no host reads, no transfers from the host, no random draws. ``bound[i]``
    True: input ``i`` is state ``fn`` updates in place, and every call must pass
    that same array (else ``GraphInputMoved``). False: its values are copied into
    a buffer the graph owns before each launch (the batch, a 0-d learning rate,
    state the step replaces); its shape and dtype are fixed (else
    ``GraphInputMoved``).

    Returns ``run(*inputs)``: the tuple of the graph's outputs, the same arrays on
    every call, overwritten by the next launch. The first call raises
    ``GraphCaptureFailed`` if ``fn`` cannot be captured (nothing ran), and so does
    every later call. Copies and launches go on the caller's current stream, in
    order with the work queued there before and after.
    """
    if backend_name(xp) != "cupy":
        return None
    import cupy

    return _CudaGraph(cupy, fn, tuple(bool(b) for b in bound))


class _CudaGraph:
    """The state of one captured step: its graph, the arrays it reads, its outputs."""

    def __init__(self, cupy, fn, bound):
        self.cupy, self.fn, self.bound = cupy, fn, bound
        self.graph = self.failure = self.outputs = self.pool = None
        self.held = None  # at capture: the bound arrays and the buffers the others go to
        self.done = cupy.cuda.Event(disable_timing=True)  # recorded after each launch

    def __call__(self, *inputs):
        if self.failure is not None:
            raise GraphCaptureFailed(f"the capture failed before: {self.failure}")
        self._check_arrays(inputs)
        stream = self.cupy.cuda.get_current_stream()
        if self.held is None:  # the bound arrays themselves, a new buffer for each other input
            self.held = [a if b else self.cupy.empty_like(a) for a, b in zip(inputs, self.bound)]
        else:
            self._check_fit(inputs)
            stream.wait_event(self.done)  # the last launch, on any stream, has read its inputs
        for buffer, array, is_bound in zip(self.held, inputs, self.bound):
            if not is_bound:
                self.cupy.copyto(buffer, array)
        if self.graph is None:
            self._capture()
        self.graph.launch(stream=stream)
        self.done.record(stream)
        return self.outputs

    def _check_arrays(self, inputs):
        """One CuPy array on the current device per input, or a clear error."""
        if len(inputs) != len(self.bound):
            raise ValueError(f"the step takes {len(self.bound)} inputs, got {len(inputs)}")
        device = self.cupy.cuda.Device()
        for i, array in enumerate(inputs):
            if not isinstance(array, self.cupy.ndarray):
                kind = f"{type(array).__module__}.{type(array).__name__}"
                raise TypeError(f"input {i} is a {kind}, not a cupy.ndarray")
            if array.device != device:
                raise ValueError(
                    f"input {i} is on cuda:{array.device.id}; the current device is "
                    f"cuda:{device.id}"
                )

    def _check_fit(self, inputs):
        """Raise GraphInputMoved unless ``inputs`` fit the arrays the graph was captured with."""
        for i, (array, held, is_bound) in enumerate(zip(inputs, self.held, self.bound)):
            if is_bound and array is not held:
                raise GraphInputMoved(
                    f"input {i} is bound (updated in place by the graph) but is another "
                    "array than at capture"
                )
            if array.shape != held.shape or array.dtype != held.dtype:
                raise GraphInputMoved(
                    f"input {i} is {array.dtype} {array.shape}; the graph was captured "
                    f"for {held.dtype} {held.shape}"
                )

    def _capture(self):
        """Record ``fn`` on a stream of its own into ``self.graph``; nothing executes.

        The stream is non-blocking: a capturing blocking stream makes any use of the
        legacy default stream an error. Relaxed mode lets ``cudaMalloc`` (the pool
        growing) and module loading (a kernel's first use) happen during the capture.
        """
        cuda = self.cupy.cuda
        pool = cuda.MemoryPool()  # private: what the capture allocates stays the graph's
        stream = cuda.Stream(non_blocking=True)
        try:
            with stream, cuda.using_allocator(pool.malloc):
                stream.begin_capture(cuda.runtime.streamCaptureModeRelaxed)
                try:
                    outputs = tuple(self.fn(*self.held))
                except BaseException:
                    with contextlib.suppress(RuntimeError):  # invalidated: it raises, yet ends
                        stream.end_capture()
                    raise
                graph = stream.end_capture()  # instantiated: cudaGraphInstantiate
        except Exception as err:
            self.failure = f"{type(err).__name__}: {err}"
            self.held = None
            raise GraphCaptureFailed(f"could not capture the step as a CUDA graph: {err}") from err
        self.graph, self.outputs, self.pool = graph, outputs, pool

    def __del__(self):
        """Wait for the last launch, then free the graph's pool (nothing else uses it)."""
        if self.graph is None or sys.is_finalizing():
            return
        self.done.synchronize()
        self.outputs = self.graph = None  # outputs go back to the pool unless held elsewhere
        self.pool.free_all_blocks()
