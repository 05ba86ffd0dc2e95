"""Python operators (+, *, @, <, …) for every tensor-like kgraph type, routed through `kgraph.ops`."""

from __future__ import annotations


def _binary(name: str, reflected: bool = False):
    def method(self, other):
        from kgraph import ops

        fn = getattr(ops, name)
        return fn(other, self) if reflected else fn(self, other)

    method.__name__ = name
    return method


def _unary(name: str):
    def method(self):
        from kgraph import ops

        return getattr(ops, name)(self)

    return method


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

    def __getitem__(self, key):
        from kgraph.ops.array import get_item

        return get_item(self, key)
