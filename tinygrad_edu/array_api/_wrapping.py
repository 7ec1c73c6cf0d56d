"""Tensors in, Tensors out: unwrapping arguments for the backend's own functions."""

from __future__ import annotations

import functools

from ..function import is_tensor


def unwrap(value):
    """Tensors (also inside tuples and lists) as their backend arrays."""
    if is_tensor(value):
        return value.data
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(unwrap(v) for v in value)
    return value


def plain_function(namespace, function):
    """``function`` of the backend on unwrapped arguments; array results as plain Tensors
    (``namespace._wrap``). The signature is the backend function's (``functools.wraps``)."""

    @functools.wraps(function)
    def plain(*args, **kwargs):
        result = function(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
        return namespace._wrap(result)

    return plain
