"""One visitor base for the formula AST: dispatch once by node type, with a default.

Like lark's `Transformer`: `visit(node, *args)` calls the method named for the node's type
(`number`, `boolean`, `param`, `defined`, `unary`, `binary`, `conditional`, `function_call`,
`call`) with the node and `args`; a subclass overrides only the methods whose behaviour differs,
and every type it does not handle goes to `__default__`. The table from type to method is built
once per subclass, so a visit costs one dict lookup.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from lm_predictor.formula import nodes as n

METHOD_NAMES: dict[type, str] = {
    n.Number: "number",
    n.Bool: "boolean",
    n.Param: "param",
    n.Defined: "defined",
    n.Unary: "unary",
    n.Binary: "binary",
    n.Conditional: "conditional",
    n.Function: "function_call",
    n.Call: "call",
}
"""The method a visitor defines for each node type."""


class Visitor:
    """Base of every walk over formula nodes; see the module docstring."""

    handlers: ClassVar[dict[type, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {kind: getattr(cls, name, cls.__default__) for kind, name in METHOD_NAMES.items()}

    def visit(self, node: n.Node, *args: Any) -> Any:
        """The result of the method for `node`'s type (or `__default__`)."""
        return self.handlers.get(type(node), type(self).__default__)(self, node, *args)

    def __default__(self, node: Any, *args: Any) -> Any:
        """A node type this visitor does not handle."""
        raise TypeError(f"not a formula node: {node!r}")
