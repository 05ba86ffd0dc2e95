"""Python operators (+, *, @, <, [], …) for every tensor-like kgraph type.

The tensor types sit below `kgraph.ops`, so the op functions behind the operators are bound by `kgraph.ops`
when it loads (as `jax.numpy` gives JAX's array types their methods); every tensor is made by code that has
loaded `kgraph.ops`.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

_ops = SimpleNamespace()


def bind(**functions: Callable) -> None:
    """Sets the op function each operator calls: `bind(add=ops.add, get_item=ops.get_item, …)`."""
    vars(_ops).update(functions)


def _op(name: str) -> Callable:
    try:
        return getattr(_ops, name)
    except AttributeError:
        raise RuntimeError(f"tensor operator {name!r} is used before kgraph.ops is loaded; import kgraph first") from None


def _binary(name: str, reflected: bool = False):
    def method(self, other):
        fn = _op(name)
        return fn(other, self) if reflected else fn(self, other)

    method.__name__ = name
    return method


def _unary(name: str):
    def method(self):
        return _op(name)(self)

    method.__name__ = name
    return method


BINARY = ("add", "subtract", "multiply", "divide", "floor_divide", "mod", "power", "matmul", "equal", "not_equal",
          "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or")
UNARY = ("negative", "abs", "logical_not")


class TensorOperators:
    """Mixin giving symbolic tensors and Variables NumPy's operator syntax."""

    __add__, __radd__ = _binary("add"), _binary("add", True)
    __sub__, __rsub__ = _binary("subtract"), _binary("subtract", True)
    __mul__, __rmul__ = _binary("multiply"), _binary("multiply", True)
    __truediv__, __rtruediv__ = _binary("divide"), _binary("divide", True)
    __floordiv__, __rfloordiv__ = _binary("floor_divide"), _binary("floor_divide", True)
    __mod__, __rmod__ = _binary("mod"), _binary("mod", True)
    __pow__, __rpow__ = _binary("power"), _binary("power", True)
    __matmul__, __rmatmul__ = _binary("matmul"), _binary("matmul", True)
    __eq__, __ne__ = _binary("equal"), _binary("not_equal")
    __lt__, __le__ = _binary("less"), _binary("less_equal")
    __gt__, __ge__ = _binary("greater"), _binary("greater_equal")
    __and__, __or__ = _binary("logical_and"), _binary("logical_or")
    __neg__, __abs__, __invert__ = _unary("negative"), _unary("abs"), _unary("logical_not")
    __hash__ = object.__hash__
    __getitem__ = _binary("get_item")
