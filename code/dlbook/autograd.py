"""A scalar automatic-differentiation engine, small enough to read in one sitting.

The chapter "An autograd engine from scratch" builds this module step by step; the code here is the
finished, tested version (its gradients are checked against ``torch.autograd`` on thousands of random
expressions in ``tests/test_autograd.py``).

- :class:`Value` wraps one float, records the operation that produced it, and can back-propagate
  through the graph of operations with :meth:`Value.backward`.
- :class:`Neuron`, :class:`Layer` and :class:`MLP` build a small multilayer perceptron out of
  ``Value`` objects; every initialisation draws from an explicit seed or ``random.Random``.
- :func:`draw_graph` draws a computational graph with Matplotlib alone (no Graphviz needed).

Speed
-----
Every scalar operation creates a Python object, so a training step of a small MLP on a few dozen
points builds tens of thousands of them. In a session that has imported large libraries (PyTorch,
Matplotlib), Python's cyclic garbage collector then spends most of the time re-scanning those
libraries' objects; calling ``gc.freeze()`` once after the imports removes most of that cost.

Example
-------
>>> from dlbook.autograd import Value
>>> x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
>>> f = (x + y) * z
>>> f.backward()
>>> x.grad, y.grad, z.grad
(-4.0, -4.0, 3.0)
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Value", "topological_order", "Module", "Neuron", "Layer", "MLP", "draw_graph"]

Number = int | float


def _check_number(x: object, what: str) -> float:
    """Return ``x`` as a float, or raise a TypeError that says what was expected."""
    if type(x) is float:                  # the common case, checked first for speed
        return x
    if isinstance(x, (int, float)) or isinstance(x, numbers.Real):   # also NumPy scalars
        return float(x)
    raise TypeError(f"{what} must be a Value or a real number (int or float), got {type(x).__name__}")


class Value:
    """One scalar in a computational graph: its value, its gradient, and how it was made.

    Parameters
    ----------
    data : int or float
        The number this node holds.
    children : tuple of Value, optional
        The operands of the operation that produced this node (empty for a leaf).
    op : str, optional
        A short name of that operation (``"+"``, ``"*"``, ``"tanh"``...), shown by :func:`draw_graph`.
    label : str, optional
        A name for the node, shown by :func:`draw_graph` and in ``repr``.

    Attributes
    ----------
    data : float
        The value computed by the forward pass.
    grad : float
        The derivative of the output on which :meth:`backward` was last called with respect to this
        node. Leaves accumulate it across calls (as in PyTorch); reset them with :meth:`zero_grad`.
    children, op, label
        As above.

    Notes
    -----
    Operands may be ``Value`` objects or Python/NumPy real numbers, on either side: ``2 * v``,
    ``1 - v``, ``1 / v`` and ``2 ** v`` work through Python's reflected operators. Anything else
    (strings, tensors, lists) raises ``TypeError``.
    """

    __slots__ = ("data", "grad", "children", "op", "label", "_backward")

    def __init__(self, data: Number, children: tuple[Value, ...] = (), op: str = "", label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("data must be a real number, got a Value; use that Value directly")
        self.data = _check_number(data, "data")
        self.grad = 0.0
        self.children = tuple(children)
        self.op = op
        self.label = label
        self._backward: Callable[[float], None] | None = None

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _wrap(other: object, symbol: str) -> Value:
        if isinstance(other, Value):
            return other
        return Value(_check_number(other, f"the other operand of {symbol}"))

    # ----- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other: Value | Number) -> Value:
        other = self._wrap(other, "+")
        out = Value(self.data + other.data, (self, other), "+")

        def _backward(grad: float) -> None:          # d(a+b)/da = d(a+b)/db = 1
            self.grad += grad
            other.grad += grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | Number) -> Value:
        other = self._wrap(other, "*")
        out = Value(self.data * other.data, (self, other), "*")

        def _backward(grad: float) -> None:          # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * grad
            other.grad += self.data * grad

        out._backward = _backward
        return out

    def __truediv__(self, other: Value | Number) -> Value:
        other = self._wrap(other, "/")
        if other.data == 0.0:
            raise ZeroDivisionError(f"division of a Value by zero (numerator {self.data:g})")
        out = Value(self.data / other.data, (self, other), "/")

        def _backward(grad: float) -> None:          # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            self.grad += grad / other.data
            other.grad += -grad * self.data / other.data ** 2

        out._backward = _backward
        return out

    def __pow__(self, exponent: Number) -> Value:
        if isinstance(exponent, Value):
            raise TypeError("the exponent of ** must be an int or float, not a Value; "
                            "write (b * a.log()).exp() for a ** b with both Values")
        n = _check_number(exponent, "the exponent of **")
        if self.data == 0.0 and n < 0:
            raise ValueError(f"0 ** {n:g} is undefined (a negative power of zero)")
        if self.data < 0.0 and not n.is_integer():
            raise ValueError(f"({self.data:g}) ** {n:g} is not a real number: a negative base needs an "
                             "integer exponent")
        try:
            y = self.data ** n
        except OverflowError:
            raise OverflowError(f"({self.data:g}) ** {n:g} overflows float64; if this happened in "
                                "training, the loss has diverged (try a smaller learning rate)") from None
        out = Value(y, (self,), f"**{n:g}")

        def _backward(grad: float) -> None:          # d(a^n)/da = n a^(n-1)
            if n == 0.0:
                local = 0.0
            elif self.data == 0.0 and n < 1.0:
                local = math.inf          # the slope of a^n at 0 for 0 < n < 1 is infinite
            else:
                local = n * self.data ** (n - 1.0)
            self.grad += local * grad

        out._backward = _backward
        return out

    def __rpow__(self, base: Number) -> Value:
        c = _check_number(base, "the base of **")
        if c <= 0.0:
            raise ValueError(f"number ** Value needs a positive base, got {c:g}")
        y = c ** self.data
        out = Value(y, (self,), f"{c:g}**")

        def _backward(grad: float) -> None:          # d(c^x)/dx = c^x ln c
            self.grad += y * math.log(c) * grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        out = Value(-self.data, (self,), "neg")

        def _backward(grad: float) -> None:
            self.grad -= grad

        out._backward = _backward
        return out

    def __sub__(self, other: Value | Number) -> Value:
        other = self._wrap(other, "-")
        out = Value(self.data - other.data, (self, other), "-")

        def _backward(grad: float) -> None:          # d(a-b)/da = 1, d(a-b)/db = -1
            self.grad += grad
            other.grad -= grad

        out._backward = _backward
        return out

    def __radd__(self, other: Number) -> Value:      # other + self
        return self._wrap(other, "+") + self

    def __rsub__(self, other: Number) -> Value:      # other - self
        return self._wrap(other, "-") - self

    def __rmul__(self, other: Number) -> Value:      # other * self
        return self._wrap(other, "*") * self

    def __rtruediv__(self, other: Number) -> Value:  # other / self
        return self._wrap(other, "/") / self

    # ----- functions ----------------------------------------------------------------------------
    def exp(self) -> Value:
        """``e ** self``; raises OverflowError above about 709.78 (the float64 limit)."""
        try:
            e = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data:g}) overflows float64 (the limit is about 709.78)") from None
        out = Value(e, (self,), "exp")

        def _backward(grad: float) -> None:
            self.grad += e * grad

        out._backward = _backward
        return out

    def log(self) -> Value:
        """Natural logarithm; raises ValueError for a non-positive argument."""
        if self.data <= 0.0:
            raise ValueError(f"log is defined for positive numbers only, got log({self.data:g})")
        out = Value(math.log(self.data), (self,), "log")

        def _backward(grad: float) -> None:
            self.grad += grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        """Hyperbolic tangent; its derivative is ``1 - tanh**2``."""
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward(grad: float) -> None:
            self.grad += (1.0 - t * t) * grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """Logistic sigmoid ``1 / (1 + e**-x)``, computed without overflow; derivative ``s (1 - s)``."""
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward(grad: float) -> None:
            self.grad += s * (1.0 - s) * grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """``max(0, x)``; the derivative is taken to be 0 at 0 (as in PyTorch)."""
        out = Value(self.data if self.data > 0.0 else 0.0, (self,), "relu")

        def _backward(grad: float) -> None:
            self.grad += (1.0 if self.data > 0.0 else 0.0) * grad

        out._backward = _backward
        return out

    # ----- backpropagation ----------------------------------------------------------------------
    def backward(self) -> None:
        """Fill ``grad`` of every node in this node's graph with d(self)/d(node).

        Nodes are visited in reverse topological order, so each node's gradient is complete before
        it is passed on to its children. Every contribution is *added* (``+=``): a node used twice
        receives the sum of the gradients along both paths (the multivariable chain rule).

        Interior nodes are reset to zero first, so calling ``backward`` twice on the same output
        gives the same interior gradients; leaves (parameters and inputs) keep accumulating, as in
        PyTorch, which is why a training loop zeroes them before each backward pass.
        """
        order = topological_order(self)
        for node in order:
            if node.children:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            if node._backward is not None:
                node._backward(node.grad)

    def zero_grad(self) -> None:
        """Set ``grad`` to zero on this node and every node it depends on."""
        for node in topological_order(self):
            node.grad = 0.0


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, each listed after all of its children (``root`` last).

    A depth-first search that appends a node once all of its children are done (post-order). It
    is iterative, so deep graphs (long sums) do not hit Python's recursion limit.

    Parameters
    ----------
    root : Value
        Or any object with a ``children`` sequence of such objects.

    Returns
    -------
    list of Value
    """
    if not hasattr(root, "children"):     # duck-typed, so the chapter's own Value class works too
        raise TypeError(f"root must be a Value (an object with data, grad and children), got {type(root).__name__}")
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, Iterator[Value]]] = [(root, iter(root.children))]
    visited.add(id(root))
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) not in visited:
                visited.add(id(child))
                stack.append((child, iter(child.children)))
                break
        else:                              # all children done: the node can be emitted
            stack.pop()
            order.append(node)
    return order


# ------------------------------------------------------------------------------------------------
# Neural networks
# ------------------------------------------------------------------------------------------------
_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


def _make_rng(rng: random.Random | int) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, int):
        raise TypeError(f"rng must be an int seed or a random.Random, got {type(rng).__name__}")
    return random.Random(rng)


class Module:
    """Base class: anything with parameters that can be listed and zeroed."""

    def parameters(self) -> list[Value]:
        """All trainable :class:`Value` objects of the module."""
        return []

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zero (call before each ``backward``)."""
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """A weighted sum of the inputs plus a bias, followed by an activation.

    Parameters
    ----------
    n_inputs : int
        Number of inputs.
    activation : {"tanh", "relu", "sigmoid", "linear"}, default "tanh"
    rng : int or random.Random, default 0
        Seed or generator for the initial weights and bias, drawn uniformly from
        ``[-1/sqrt(n_inputs), 1/sqrt(n_inputs)]`` (the range PyTorch's ``nn.Linear`` uses).
    """

    def __init__(self, n_inputs: int, activation: str = "tanh", *, rng: random.Random | int = 0) -> None:
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive int, got {n_inputs!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
        rng = _make_rng(rng)
        bound = 1.0 / math.sqrt(n_inputs)
        self.w = [Value(rng.uniform(-bound, bound), label=f"w{i}") for i in range(n_inputs)]
        self.b = Value(rng.uniform(-bound, bound), label="b")
        self.activation = activation

    def __call__(self, x: Sequence[Value | Number]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"this neuron expects {len(self.w)} inputs, got {len(x)}")
        z = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return z if self.activation == "linear" else getattr(z, self.activation)()

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``n_outputs`` neurons that all read the same inputs.

    Parameters
    ----------
    n_inputs, n_outputs : int
    activation : str, default "tanh"
        See :class:`Neuron`.
    rng : int or random.Random, default 0
        Seed or generator; the neurons draw from it one after the other.
    """

    def __init__(self, n_inputs: int, n_outputs: int, activation: str = "tanh", *,
                 rng: random.Random | int = 0) -> None:
        if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
            raise ValueError(f"n_outputs must be a positive int, got {n_outputs!r}")
        rng = _make_rng(rng)
        self.neurons = [Neuron(n_inputs, activation, rng=rng) for _ in range(n_outputs)]

    def __call__(self, x: Sequence[Value | Number]) -> list[Value]:
        return [neuron(x) for neuron in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def __repr__(self) -> str:
        n = self.neurons[0]
        return f"Layer({len(n.w)}, {len(self.neurons)}, activation={n.activation!r})"


class MLP(Module):
    """A multilayer perceptron: layers applied one after the other.

    Parameters
    ----------
    n_inputs : int
        Number of input features.
    layer_sizes : sequence of int
        Number of neurons of each layer, the last one being the output layer: ``MLP(2, [4, 1])`` has a
        hidden layer of 4 neurons and one output.
    activation : str, default "tanh"
        Activation of the hidden layers.
    output_activation : str, default "linear"
        Activation of the output layer.
    rng : int or random.Random, default 0
        Seed or generator for the initial parameters.

    Calling the network on one example (a sequence of ``n_inputs`` numbers or Values) returns a
    ``Value`` if the output layer has one neuron, else a list of Values.
    """

    def __init__(self, n_inputs: int, layer_sizes: Sequence[int], activation: str = "tanh",
                 output_activation: str = "linear", *, rng: random.Random | int = 0) -> None:
        if not isinstance(layer_sizes, Sequence) or len(layer_sizes) == 0:
            raise ValueError(f"layer_sizes must be a non-empty sequence of ints, got {layer_sizes!r}")
        rng = _make_rng(rng)
        sizes = [n_inputs, *layer_sizes]
        acts = [activation] * (len(layer_sizes) - 1) + [output_activation]
        self.layers = [Layer(sizes[i], sizes[i + 1], acts[i], rng=rng) for i in range(len(layer_sizes))]

    def __call__(self, x: Sequence[Value | Number]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP([{', '.join(repr(layer) for layer in self.layers)}])"


# ------------------------------------------------------------------------------------------------
# Drawing
# ------------------------------------------------------------------------------------------------
def _layout(root: Value) -> tuple[list[Value], dict[int, tuple[float, float]], dict[int, tuple[float, float]]]:
    """Columns (left to right, leaves first) and rows for the value nodes and operation nodes."""
    order = topological_order(root)
    col: dict[int, int] = {}
    parents: dict[int, list[Value]] = {}
    for node in order:                    # children come first, so their columns are known
        col[id(node)] = 0 if not node.children else 2 + max(col[id(c)] for c in node.children)
        for c in node.children:
            parents.setdefault(id(c), []).append(node)
    for node in order:                    # move each input next to its first use
        if not node.children and id(node) in parents:
            col[id(node)] = min(col[id(p)] for p in parents[id(node)]) - 2
    columns: dict[int, list[Value]] = {}
    for node in order:
        columns.setdefault(col[id(node)], []).append(node)
    row: dict[int, float] = {}

    def key(n: Value) -> float:           # mean row of the children, or of an input's siblings
        placed = [row[id(c)] for c in n.children if id(c) in row]
        if not n.children and id(n) in parents:
            placed = [row[id(s)] for s in parents[id(n)][0].children if id(s) in row]
        return sum(placed) / len(placed) if placed else 0.0

    for c in sorted(columns):             # order each column by that key, then centre it
        nodes = sorted(columns[c], key=key) if c > min(columns) else columns[c]
        for i, node in enumerate(nodes):
            row[id(node)] = i - (len(nodes) - 1) / 2
    value_pos = {id(n): (float(col[id(n)]), -row[id(n)]) for n in order}
    op_pos = {id(n): (col[id(n)] - 1.0, -row[id(n)]) for n in order if n.children}
    return order, value_pos, op_pos


def draw_graph(root: Value, ax: Axes | None = None, *, precision: int = 4,
               title: str | None = "Computational graph", max_nodes: int = 200) -> Axes:
    """Draw the computational graph of ``root`` with Matplotlib, left (inputs) to right (output).

    Each value node is a box with its label, ``data`` and ``grad``; each operation is a small
    circle between its operands and its result. Graphviz is not needed.

    Parameters
    ----------
    root : Value
        The output node; everything it depends on is drawn.
    ax : matplotlib Axes, optional
        Where to draw; a new figure sized to the graph is made if omitted.
    precision : int, default 4
        Significant digits of ``data`` and ``grad``.
    title : str or None, default "Computational graph"
    max_nodes : int, default 200
        Refuse (ValueError) to draw larger graphs, which would be unreadable.

    Returns
    -------
    matplotlib.axes.Axes
        The axes, holding exactly one text artist per drawn node (value or operation).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    order, value_pos, op_pos = _layout(root)
    if len(order) > max_nodes:
        raise ValueError(f"the graph has {len(order)} value nodes, more than max_nodes={max_nodes}; "
                         "draw a smaller expression or raise max_nodes")
    xs = [x for x, _ in value_pos.values()]
    n_cols = 1 + max(xs) - min(xs)
    n_rows = max(xs.count(c) for c in set(xs))
    if ax is None:
        _, ax = plt.subplots(figsize=(min(2.2 + 1.25 * n_cols, 18), min(1.2 + 0.95 * n_rows, 14)))
    boxes = {}
    for node in order:
        text = f"{node.label}\n" if node.label else ""
        text += f"data {node.data:.{precision}g}\ngrad {node.grad:.{precision}g}"
        boxes[id(node)] = ax.text(*value_pos[id(node)], text, ha="center", va="center", fontsize=8,
                                  family="monospace", zorder=3,
                                  bbox=dict(boxstyle="round,pad=0.35", fc="#E8F1FA", ec="#0072B2"))
        if node.children:
            boxes[("op", id(node))] = ax.text(*op_pos[id(node)], node.op, ha="center", va="center",
                                              fontsize=8, zorder=3,
                                              bbox=dict(boxstyle="circle,pad=0.3", fc="#FBE9DD", ec="#D55E00"))
    for node in order:
        if not node.children:
            continue
        edges = [(boxes[id(c)], boxes[("op", id(node))]) for c in dict.fromkeys(node.children)]
        edges.append((boxes[("op", id(node))], boxes[id(node)]))
        for a, b in edges:
            ax.add_patch(FancyArrowPatch(a.get_position(), b.get_position(), patchA=a.get_bbox_patch(),
                                         patchB=b.get_bbox_patch(), arrowstyle="-|>", mutation_scale=9,
                                         color="0.35", lw=0.9, zorder=4))
    ys = [y for _, y in value_pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
