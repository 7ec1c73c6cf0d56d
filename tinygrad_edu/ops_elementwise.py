"""More elementwise primitives: the rest of the standard's differentiable math.

Each op computes ``y = f(x)`` with the namespace's own function (so values
and special cases are the backend's) and states its derivative. The rules use
only operators and ``F.exp`` / ``F.log``, so they run on raw arrays and, when
the backward pass is recorded, on Tensors (second derivatives for free).
Square roots in the rules are written as powers: ``(1 - x*x) ** -0.5``.

Composites (``square``, ``reciprocal``, ``rsqrt``, ``exp2``, ``lerp``, the
activations) live in ``tensor_methods.py``; they need no rule of their own.
"""

from __future__ import annotations

import math

from .function import Function

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


class Tan(Function):
    """y = tan(x);  dL/dx = g * (1 + y**2)."""

    def forward(self, xp, x):
        return xp.tan(x)

    def backward(self, F, g, inputs, out):
        return (g + g * out * out,)


class Asin(Function):
    """y = asin(x);  dL/dx = g / sqrt(1 - x**2)."""

    def forward(self, xp, x):
        return xp.asin(x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (g * (1.0 - x * x) ** -0.5,)


class Acos(Function):
    """y = acos(x);  dL/dx = -g / sqrt(1 - x**2)."""

    def forward(self, xp, x):
        return xp.acos(x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (-g * (1.0 - x * x) ** -0.5,)


class Atan(Function):
    """y = atan(x);  dL/dx = g / (1 + x**2)."""

    def forward(self, xp, x):
        return xp.atan(x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (g / (1.0 + x * x),)


class Sinh(Function):
    """y = sinh(x);  dL/dx = g * cosh(x) = g * (exp(x) + exp(-x)) / 2."""

    def forward(self, xp, x):
        return xp.sinh(x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (g * 0.5 * (F.exp(x) + F.exp(-x)),)


class Cosh(Function):
    """y = cosh(x);  dL/dx = g * sinh(x) = g * (exp(x) - exp(-x)) / 2."""

    def forward(self, xp, x):
        return xp.cosh(x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (g * 0.5 * (F.exp(x) - F.exp(-x)),)


class Asinh(Function):
    """y = asinh(x);  dL/dx = g / sqrt(x**2 + 1)."""

    def forward(self, xp, x):
        return xp.asinh(x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (g * (x * x + 1.0) ** -0.5,)


class Acosh(Function):
    """y = acosh(x) (x >= 1);  dL/dx = g / sqrt(x**2 - 1)."""

    def forward(self, xp, x):
        return xp.acosh(x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (g * (x * x - 1.0) ** -0.5,)


class Atanh(Function):
    """y = atanh(x) (|x| < 1);  dL/dx = g / (1 - x**2)."""

    def forward(self, xp, x):
        return xp.atanh(x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (g / (1.0 - x * x),)


class Log2(Function):
    """y = log2(x);  dL/dx = g / (x ln 2)."""

    def forward(self, xp, x):
        return xp.log2(x)

    def backward(self, F, g, inputs, out):
        return (g / (inputs[0] * _LN2),)


class Log10(Function):
    """y = log10(x);  dL/dx = g / (x ln 10)."""

    def forward(self, xp, x):
        return xp.log10(x)

    def backward(self, F, g, inputs, out):
        return (g / (inputs[0] * _LN10),)


class Log1p(Function):
    """y = log(1 + x), accurate for small x;  dL/dx = g / (1 + x)."""

    def forward(self, xp, x):
        return xp.log1p(x)

    def backward(self, F, g, inputs, out):
        return (g / (1.0 + inputs[0]),)


class Expm1(Function):
    """y = exp(x) - 1, accurate for small x;  dL/dx = g * (y + 1)."""

    def forward(self, xp, x):
        return xp.expm1(x)

    def backward(self, F, g, inputs, out):
        return (g * (out + 1.0),)


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a);
    dL/da = g * b / (a**2 + b**2),  dL/db = -g * a / (a**2 + b**2)."""

    def forward(self, xp, a, b):
        return xp.atan2(a, b)

    def backward(self, F, g, inputs, out):
        a, b = inputs
        scale = g / (a * a + b * b)
        needs_a, needs_b = self.needs_input_grad
        return (scale * b if needs_a else None), (-scale * a if needs_b else None)


class Hypot(Function):
    """y = sqrt(a**2 + b**2) without overflow;  dL/da = g * a / y,  dL/db = g * b / y."""

    def forward(self, xp, a, b):
        return xp.hypot(a, b)

    def backward(self, F, g, inputs, out):
        a, b = inputs
        needs_a, needs_b = self.needs_input_grad
        return (g * a / out if needs_a else None), (g * b / out if needs_b else None)


class LogAddExp(Function):
    """y = log(exp(a) + exp(b)) without overflow;
    dL/da = g * exp(a - y),  dL/db = g * exp(b - y)."""

    def forward(self, xp, a, b):
        return xp.logaddexp(a, b)

    def backward(self, F, g, inputs, out):
        a, b = inputs
        needs_a, needs_b = self.needs_input_grad
        return (g * F.exp(a - out) if needs_a else None), (g * F.exp(b - out) if needs_b else None)


class Step(Function):
    """y = sign(x), floor(x), ceil(x), round(x) or trunc(x) (``kind``): piecewise constant;
    dL/dx = 0 (PyTorch's convention at the jumps, where no derivative exists)."""

    KINDS = ("sign", "floor", "ceil", "round", "trunc")

    def forward(self, xp, x, kind):
        if kind not in self.KINDS:
            raise ValueError(f"Step kind must be one of {self.KINDS}, got {kind!r}")
        return getattr(xp, kind)(x)

    def backward(self, F, g, inputs, out):
        return (g * 0.0,)
