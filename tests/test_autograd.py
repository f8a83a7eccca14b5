"""Tests of dlbook.autograd: gradients against torch.autograd, edge cases, errors, MLP training, drawing."""

from __future__ import annotations

import math
import random

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlbook.autograd import MLP, Layer, Neuron, Value, draw_graph, topological_order  # noqa: E402

RTOL = 1e-9


def close(a: float, b: float, rtol: float = RTOL, atol: float = 1e-12) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


# ------------------------------------------------------------------------------------------------
# Random expression trees, built twice in parallel: once with Value, once with float64 tensors.
# ------------------------------------------------------------------------------------------------
class Pair:
    """A node of both graphs: our Value and the matching torch tensor."""

    def __init__(self, v: Value, t: torch.Tensor) -> None:
        self.v, self.t = v, t


def positive(p: Pair) -> Pair:
    """p itself if it is safely positive, else an expression of p that is >= 0.5 (for log, division
    and fractional powers). Using p itself lets these operations act on reused nodes too."""
    if p.v.data > 0.1:
        return p
    return Pair(p.v * p.v + 0.5, p.t * p.t + 0.5)


def random_expression(rng: random.Random, leaves: list[Pair], n_ops: int) -> Pair:
    """Apply ``n_ops`` random operations; operands come from a pool that keeps earlier results,
    so sub-expressions are reused (the graph is a DAG, not a tree)."""
    pool = list(leaves)
    for _ in range(n_ops):
        a, b = rng.choice(pool), rng.choice(pool)
        c = round(rng.uniform(-3, 3), 3) or 1.5          # a Python number for mixed operations
        kind = rng.randrange(23)
        if kind == 0:
            out = Pair(a.v + b.v, a.t + b.t)
        elif kind == 1:
            out = Pair(a.v - b.v, a.t - b.t)
        elif kind == 2:
            out = Pair(a.v * b.v, a.t * b.t)
        elif kind == 3:
            q = positive(b)
            out = Pair(a.v / q.v, a.t / q.t)
        elif kind == 4:
            out = Pair(c + a.v, c + a.t)                  # __radd__
        elif kind == 5:
            out = Pair(c - a.v, c - a.t)                  # __rsub__
        elif kind == 6:
            out = Pair(c * a.v, c * a.t)                  # __rmul__
        elif kind == 7:
            q = positive(a)
            out = Pair(c / q.v, c / q.t)                  # __rtruediv__
        elif kind == 8:
            base = abs(c) + 0.1
            s = Pair(a.v.tanh(), a.t.tanh())
            out = Pair(base ** s.v, base ** s.t)          # __rpow__
        elif kind == 9:
            n = rng.choice([2, 3])
            out = Pair(a.v ** n, a.t ** n)                # integer power of anything
        elif kind == 10:
            n = rng.choice([-2, -1, -0.5, 0.5, 1.5, 2.5])
            q = positive(a)
            out = Pair(q.v ** n, q.t ** n)                # real power of a positive base
        elif kind == 11:
            out = Pair(-a.v, -a.t)
        elif kind == 12:
            out = Pair(a.v.tanh(), a.t.tanh())
        elif kind == 13:
            s = Pair(a.v.tanh(), a.t.tanh())
            out = Pair(s.v.exp(), s.t.exp())
        elif kind == 14:
            q = positive(a)
            out = Pair(q.v.log(), q.t.log())
        elif kind == 15:
            out = Pair(a.v.relu(), a.t.relu())
        elif kind == 16:
            out = Pair(a.v.sigmoid(), a.t.sigmoid())
        elif kind == 17:
            out = Pair(a.v + c, a.t + c)
        elif kind == 18:
            out = Pair(a.v * c, a.t * c)
        elif kind == 19:
            out = Pair(a.v - c, a.t - c)
        elif kind == 20:
            out = Pair(a.v / c, a.t / c)
        elif kind == 21:
            out = Pair(a.v * a.v, a.t * a.t)              # the same node twice in one operation
        else:
            out = Pair(a.v.exp(), a.t.exp()) if abs(a.v.data) < 5 else Pair(a.v.tanh(), a.t.tanh())
        if abs(out.v.data) > 1e6:                          # keep magnitudes moderate
            out = Pair(out.v.tanh(), out.t.tanh())
        pool.append(out)
    # The output depends on several pool entries, so many nodes have more than one parent.
    picks = [pool[-1]] + rng.sample(pool, min(3, len(pool)))
    v_out, t_out = picks[0].v, picks[0].t
    for p in picks[1:]:
        v_out, t_out = v_out + p.v, t_out + p.t
    return Pair(v_out, t_out)


@pytest.mark.parametrize("seed", range(40))
def test_gradients_match_torch_on_random_expressions(seed):
    rng = random.Random(seed)
    for _ in range(10):
        n_leaves = rng.randint(1, 4)
        xs = [rng.uniform(-2, 2) for _ in range(n_leaves)]
        vs = [Value(x) for x in xs]
        ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        out = random_expression(rng, [Pair(v, t) for v, t in zip(vs, ts)], n_ops=rng.randint(1, 12))
        out.v.backward()
        out.t.backward()
        assert close(out.v.data, out.t.item()), (out.v.data, out.t.item())
        for v, t in zip(vs, ts):
            expected = 0.0 if t.grad is None else t.grad.item()
            assert close(v.grad, expected, atol=1e-9 * max(1.0, abs(expected))), (seed, v.grad, expected)


# ------------------------------------------------------------------------------------------------
# Specific cases
# ------------------------------------------------------------------------------------------------
def test_worked_example_f_equals_x_plus_y_times_z():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    f = (x + y) * z
    f.backward()
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_reused_node_accumulates_gradient():
    a = Value(3.0)
    b = a + a                 # db/da = 2, not 1: both paths must be added
    b.backward()
    assert a.grad == 2.0
    a2 = Value(3.0)
    c = a2 * a2               # dc/da = 2a = 6
    c.backward()
    assert a2.grad == 6.0
    a3 = Value(-2.0)
    d = a3 * 2
    e = d * d + d             # de/da = (2d + 1) * 2 = -14
    e.backward()
    assert a3.grad == -14.0


def test_backward_twice_accumulates_on_leaves_only_and_zero_grad_resets():
    x, w = Value(1.5), Value(-0.5)
    out = (x * w).tanh() * 3
    out.backward()
    first = (x.grad, w.grad)
    out.backward()                                  # the accumulation pitfall: leaves double ...
    assert (x.grad, w.grad) == pytest.approx((2 * first[0], 2 * first[1]))
    inner = out.children[0]
    grad_inner = inner.grad
    out.backward()                                  # ... interior nodes are recomputed, not summed
    assert inner.grad == grad_inner
    out.zero_grad()
    assert all(node.grad == 0.0 for node in topological_order(out))
    out.backward()
    assert (x.grad, w.grad) == first


def test_module_zero_grad():
    mlp = MLP(2, [3, 1], rng=1)
    mlp([0.5, -1.0]).backward()
    assert any(p.grad != 0.0 for p in mlp.parameters())
    mlp.zero_grad()
    assert all(p.grad == 0.0 for p in mlp.parameters())


def test_reflected_operators_and_values():
    x = Value(2.0)
    assert (3 + x).data == 5.0 and (3 - x).data == 1.0 and (3 * x).data == 6.0
    assert (3 / x).data == 1.5 and (3 ** x).data == 9.0 and (-x).data == -2.0
    y = 1 / x
    y.backward()
    assert x.grad == -0.25


def test_edge_cases_of_pow_relu_and_sigmoid():
    x = Value(0.0)
    (x ** 0).backward()
    assert x.grad == 0.0                           # d(x^0)/dx = 0, even at 0
    x = Value(0.0)
    (x ** 0.5).backward()
    assert x.grad == math.inf                      # vertical tangent of sqrt at 0 (as torch)
    x = Value(-2.0)
    (x ** 3).backward()
    assert x.grad == 12.0                          # negative base, integer exponent is fine
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0                           # ReLU'(0) := 0, as in PyTorch
    big, small = Value(800.0).sigmoid(), Value(-800.0).sigmoid()
    assert big.data == 1.0 and small.data == 0.0   # no overflow either way


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y + x
    y.backward()
    assert x.grad == 5001.0


def test_repr_and_print():
    v = Value(2.0, label="w")
    assert repr(v) == "Value(label='w', data=2, grad=0)"
    assert str(v) == repr(v)                       # print falls back to __repr__ without __str__


# ------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["2", [1.0], None, 1j])
def test_bad_operands_raise_type_error(bad):
    x = Value(1.0)
    with pytest.raises(TypeError, match="must be a Value or a real number"):
        x + bad
    with pytest.raises(TypeError, match="must be a Value or a real number"):
        x * bad
    with pytest.raises(TypeError, match="int or float"):
        x ** bad


def test_bad_constructor_arguments():
    with pytest.raises(TypeError, match="data must be a Value or a real number"):
        Value("3")
    with pytest.raises(TypeError, match="use that Value directly"):
        Value(Value(1.0))
    with pytest.raises(TypeError, match="not a Value"):
        Value(2.0) ** Value(2.0)


def test_domain_errors():
    with pytest.raises(ValueError, match="positive numbers only"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="positive numbers only"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="integer exponent"):
        Value(-8.0) ** (1 / 3)
    with pytest.raises(ValueError, match="negative power of zero"):
        Value(0.0) ** -1
    with pytest.raises(ValueError, match="positive base"):
        (-2) ** Value(1.0)
    with pytest.raises(ZeroDivisionError, match="by zero"):
        Value(1.0) / Value(0.0)
    with pytest.raises(ZeroDivisionError, match="by zero"):
        1 / Value(0.0)
    with pytest.raises(OverflowError, match="709"):
        Value(1000.0).exp()


def test_network_argument_errors():
    with pytest.raises(ValueError, match="n_inputs"):
        Neuron(0)
    with pytest.raises(ValueError, match="activation"):
        Neuron(2, "softplus")
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="rng"):
        Layer(2, 2, rng=0.5)
    with pytest.raises(ValueError, match="layer_sizes"):
        MLP(2, [])


# ------------------------------------------------------------------------------------------------
# Networks
# ------------------------------------------------------------------------------------------------
def test_initialisation_is_seeded_and_explicit():
    p1 = [p.data for p in MLP(3, [4, 4, 1], rng=7).parameters()]
    p2 = [p.data for p in MLP(3, [4, 4, 1], rng=random.Random(7)).parameters()]
    p3 = [p.data for p in MLP(3, [4, 4, 1], rng=8).parameters()]
    assert p1 == p2 and p1 != p3
    assert len(p1) == 4 * 4 + 4 * 5 + 1 * 5
    assert all(abs(v) <= 1 / math.sqrt(3) for v in p1[:16])


def test_mlp_matches_torch_forward_and_backward():
    mlp = MLP(3, [4, 2], rng=3)
    x = [0.3, -1.2, 0.8]
    out = mlp(x)
    loss = (out[0] - 1) ** 2 + out[1] ** 2
    loss.backward()
    h = torch.tensor(x, dtype=torch.float64)
    params = []
    for i, layer in enumerate(mlp.layers):
        W = torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        params += [(layer, W, b)]
        h = W @ h + b
        if i < len(mlp.layers) - 1:
            h = torch.tanh(h)
    loss_t = (h[0] - 1) ** 2 + h[1] ** 2
    loss_t.backward()
    assert close(loss.data, loss_t.item())
    for layer, W, b in params:
        for j, n in enumerate(layer.neurons):
            assert all(close(w.grad, g) for w, g in zip(n.w, W.grad[j].tolist()))
            assert close(n.b.grad, b.grad[j].item())


def train(mlp: MLP, xs, ys, steps: int, lr: float) -> list[float]:
    losses = []
    for _ in range(steps):
        loss = sum(((mlp(x) - y) ** 2 for x, y in zip(xs, ys)), Value(0.0)) / len(xs)
        mlp.zero_grad()
        loss.backward()
        for p in mlp.parameters():
            p.data -= lr * p.grad
        losses.append(loss.data)
    return losses


def test_mlp_training_lowers_the_loss():
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    losses = train(MLP(3, [4, 4, 1], rng=0), xs, ys, steps=60, lr=0.1)
    assert losses[-1] < losses[0] / 20


def test_mlp_solves_xor():
    xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    ys = [-1.0, 1.0, 1.0, -1.0]
    mlp = MLP(2, [4, 1], rng=0)
    train(mlp, xs, ys, steps=300, lr=0.2)
    predictions = [1.0 if mlp(x).data > 0 else -1.0 for x in xs]
    assert predictions == ys


# ------------------------------------------------------------------------------------------------
# Drawing
# ------------------------------------------------------------------------------------------------
def test_draw_graph_has_one_text_per_node():
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    f = (q * z).tanh() + q                         # q is reused
    f.backward()
    ax = draw_graph(f)
    nodes = topological_order(f)
    n_ops = sum(1 for n in nodes if n.children)
    assert len(ax.texts) == len(nodes) + n_ops
    shown = "\n".join(t.get_text() for t in ax.texts)
    assert "x\ndata -2\ngrad" in shown and "tanh" in shown
    ax.figure.canvas.draw()                        # the arrows clip against the boxes at draw time
    plt.close(ax.figure)


def test_draw_graph_on_given_axes_and_size_guard():
    fig, ax = plt.subplots()
    a = Value(1.0)
    assert draw_graph(a, ax=ax, title=None) is ax and len(ax.texts) == 1
    big = sum((Value(float(i)) for i in range(300)), Value(0.0))
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(big, ax=ax)
    plt.close(fig)


def test_overflow_in_pow_names_the_cause():
    with pytest.raises(OverflowError, match="learning rate"):
        Value(1e200) ** 2
