"""Tests for adlib.nn.linear: the linear layer's forward map and hand-derived backward
(dL/dX = dL/dY W^T, dL/dW = X^T dL/dY), checked against PyTorch autograd in float64, explicit
component sums, full Jacobians, and the lectures' 784-512-512-10 network with a batch of 64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import adlib
from adlib.nn import Linear, cross_entropy, linear_backward, linear_forward

FAST = settings(max_examples=30, deadline=None)


def torch_linear_grads(X, W, b, G):
    """dL/dX, dL/dW, dL/db by torch autograd for L = sum(G * (X W + b)), so dL/dY = G."""
    tX, tW = torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    Y = tX @ tW + tb
    (Y * torch.tensor(G)).sum().backward()
    return Y.detach().numpy(), tX.grad.numpy(), tW.grad.numpy(), tb.grad.numpy()


def random_layer(B: int, H1: int, H2: int, seed: int) -> tuple[np.ndarray, ...]:
    """Standard normal X (B, H1), W (H1, H2), b (H2,) and an upstream gradient G (B, H2)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, H1)), rng.normal(size=(H1, H2)), rng.normal(size=H2), rng.normal(size=(B, H2))


@FAST
@given(B=st.integers(1, 6), H1=st.integers(1, 6), H2=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_backward_matches_torch_autograd(B, H1, H2, seed):
    X, W, b, G = random_layer(B, H1, H2, seed)
    Y_t, dX_t, dW_t, db_t = torch_linear_grads(X, W, b, G)
    np.testing.assert_allclose(linear_forward(X, W, b), Y_t, rtol=1e-13, atol=1e-14)
    dX, dW, db = linear_backward(G, X, W)
    assert dX.shape == X.shape and dW.shape == W.shape and db.shape == b.shape
    np.testing.assert_allclose(dX, dX_t, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dW, dW_t, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(db, db_t, rtol=1e-13, atol=1e-14)


@FAST
@given(B=st.integers(1, 5), H1=st.integers(1, 5), H2=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_reverse_mode_through_the_primitive_matches_torch(B, H1, H2, seed):
    X, W, b, G = random_layer(B, H1, H2, seed)
    _, dX_t, dW_t, db_t = torch_linear_grads(X, W, b, G)
    leaves = [adlib.ReverseDiff(v) for v in (X, W, b)]
    Y = linear_forward(*leaves)
    assert Y.op == "linear"
    Y.backward(G)
    for leaf, want in zip(leaves, (dX_t, dW_t, db_t), strict=True):
        np.testing.assert_allclose(leaf.grad, want, rtol=1e-13, atol=1e-14)


def test_forward_mode_jvp_is_the_product_rule():
    rng = np.random.default_rng(3)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    tX, tW, tb = rng.normal(size=X.shape), rng.normal(size=W.shape), rng.normal(size=b.shape)
    value, tangent = adlib.jvp(linear_forward, (X, W, b), (tX, tW, tb))
    np.testing.assert_allclose(value, X @ W + b, rtol=1e-14)
    # d(X W + b) = dX W + X dW + db
    np.testing.assert_allclose(tangent, tX @ W + X @ tW + tb, rtol=1e-13)
    # only the bias moving: every row of Y moves by tb
    _, only_b = adlib.jvp(lambda bb: linear_forward(X, W, bb), (b,), (tb,))
    np.testing.assert_allclose(only_b, np.tile(tb, (4, 1)))


def test_nested_forward_mode_second_derivative_in_the_weights():
    # f(w) = sum (x w)^2 for a 1x1 "layer": f'' = 2 sum x^2
    X = np.array([[1.0], [2.0], [-3.0]])
    d2 = adlib.derivative(adlib.derivative(lambda w: (linear_forward(X, w.reshape(1, 1)) ** 2).sum()))(0.7)
    assert d2 == pytest.approx(2 * 14.0)


def test_component_formulas_by_explicit_sums():
    rng = np.random.default_rng(0)
    B, H1, H2 = 3, 4, 2
    X, W, G = rng.normal(size=(B, H1)), rng.normal(size=(H1, H2)), rng.normal(size=(B, H2))
    dX, dW, db = linear_backward(G, X, W)
    for i in range(B):
        for j in range(H1):
            assert dX[i, j] == pytest.approx(sum(G[i, k] * W[j, k] for k in range(H2)), rel=1e-13)
    for j in range(H1):
        for k in range(H2):
            assert dW[j, k] == pytest.approx(sum(X[i, j] * G[i, k] for i in range(B)), rel=1e-13)
    for k in range(H2):
        assert db[k] == pytest.approx(sum(G[i, k] for i in range(B)), rel=1e-13)


def test_vjp_equals_the_full_jacobian_contracted():
    # The Jacobians of the docstring, (B H2) x (B H1) and (B H2) x (H1 H2), formed explicitly here
    # for a tiny layer: contracting them with G gives the same as the formulas.
    rng = np.random.default_rng(1)
    B, H1, H2 = 2, 3, 4
    X, W, G = rng.normal(size=(B, H1)), rng.normal(size=(H1, H2)), rng.normal(size=(B, H2))
    JX = adlib.jacobian(lambda x: linear_forward(x, W))(X)
    JW = adlib.jacobian(lambda w: linear_forward(X, w))(W)
    assert JX.reshape(B * H2, B * H1).shape == (8, 6)
    assert JW.reshape(B * H2, H1 * H2).shape == (8, 12)
    dX, dW, _ = linear_backward(G, X, W)
    np.testing.assert_allclose(np.einsum("ik,ikjl->jl", G, JX), dX, rtol=1e-13)
    np.testing.assert_allclose(np.einsum("ik,ikjl->jl", G, JW), dW, rtol=1e-13)


def test_seed_network_784_512_512_10_batch_64_matches_torch():
    """The lectures' check: MNIST-shaped MLP without biases, batch 64 (random inputs stand in for
    MNIST), look at the middle layer fc2: X its input, Y its output, W its weight."""
    torch.manual_seed(0)
    fc1, fc2, fc3 = (
        torch.nn.Linear(784, 512, bias=False, dtype=torch.float64),
        torch.nn.Linear(512, 512, bias=False, dtype=torch.float64),
        torch.nn.Linear(512, 10, bias=False, dtype=torch.float64),
    )
    x = torch.rand(64, 1, 28, 28, dtype=torch.float64)
    labels = torch.randint(0, 10, (64,))
    # torch side, as in the lecture (retain_grad on the activations around fc2)
    X_t = F.relu(fc1(x.flatten(1)))
    X_t.retain_grad()
    Y_t = fc2(X_t)
    Y_t.retain_grad()
    loss_t = F.cross_entropy(fc3(F.relu(Y_t)), labels)
    loss_t.backward()
    diff1 = (X_t.grad - Y_t.grad @ fc2.weight).abs().sum().item()
    diff2 = (fc2.weight.grad.T - X_t.T @ Y_t.grad).abs().sum().item()
    assert diff1 < 1e-12 and diff2 < 1e-12

    # adlib side, same weights (torch stores (out, in); from_torch transposes to (in, out))
    l1, l2, l3 = (Linear.from_torch(m) for m in (fc1, fc2, fc3))
    X = adlib.relu(l1(x.flatten(1).numpy()))
    Y = l2(X)
    loss = cross_entropy(l3(adlib.relu(Y)), labels.numpy())
    loss.backward()
    W = l2.weight
    # shapes, as the lecture prints them (its W is torch's (out, in) = (512, 512) too). The shorter
    # deck's listing prints fc2_input_act.shape under "Shape of W"; the weight is what is meant.
    assert X.shape == (64, 512) and X.grad.shape == (64, 512)
    assert W.shape == (512, 512) and W.grad.shape == (512, 512)
    assert Y.shape == (64, 512) and Y.grad.shape == (64, 512)
    assert loss.value == pytest.approx(loss_t.item(), rel=1e-13)
    # dL/dY from the graph, then the two formulas
    np.testing.assert_allclose(Y.grad, Y_t.grad.numpy(), rtol=1e-10, atol=1e-16)
    dX, dW, _ = linear_backward(Y.grad, X.value, W.value)
    np.testing.assert_allclose(dX, X.grad, rtol=1e-12, atol=1e-17)  # dL/dX = dL/dY W^T
    np.testing.assert_allclose(dW, W.grad, rtol=1e-12, atol=1e-17)  # dL/dW = X^T dL/dY
    np.testing.assert_allclose(X.grad, X_t.grad.numpy(), rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(W.grad, fc2.weight.grad.numpy().T, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(l1.weight.grad, fc1.weight.grad.numpy().T, rtol=1e-9, atol=1e-16)


# ------------------------------------------------------------------ bad input


def test_inner_dimension_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"X has shape \(2, 3\) and W has shape \(4, 5\)"):
        linear_forward(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"X has shape \(2, 3\) and W has shape \(4, 5\)"):
        linear_backward(np.ones((2, 5)), np.ones((2, 3)), np.ones((4, 5)))


def test_upstream_gradient_shape_mismatch():
    with pytest.raises(
        ValueError, match=r"dY has shape \(2, 4\) but X has shape \(2, 3\) and W has shape \(3, 5\)"
    ):
        linear_backward(np.ones((2, 4)), np.ones((2, 3)), np.ones((3, 5)))


def test_bias_shape_mismatch():
    with pytest.raises(ValueError, match=r"b has shape \(4,\) but W has shape \(3, 5\)"):
        linear_forward(np.ones((2, 3)), np.ones((3, 5)), np.ones(4))
    with pytest.raises(ValueError, match="b must have 1 dimension"):
        linear_forward(np.ones((2, 3)), np.ones((3, 5)), np.ones((1, 5)))


def test_wrong_number_of_dimensions():
    with pytest.raises(ValueError, match=r"X must have 2 dimension\(s\), got shape \(3,\)"):
        linear_forward(np.ones(3), np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"W must have 2 dimension\(s\)"):
        linear_forward(np.ones((2, 3)), np.ones((2, 3, 5)))


def test_empty_batch_is_refused():
    with pytest.raises(ValueError, match="empty batch"):
        linear_forward(np.ones((0, 3)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="empty batch"):
        linear_backward(np.ones((0, 5)), np.ones((0, 3)), np.ones((3, 5)))


@pytest.mark.parametrize(
    "bad", [np.ones((2, 3), dtype=bool), np.ones((2, 3), dtype=complex), np.ones((2, 3), dtype=object)]
)
def test_bool_complex_object_are_refused(bad):
    with pytest.raises(TypeError, match=f"X has dtype {bad.dtype}"):
        linear_forward(bad, np.ones((3, 2)))
    with pytest.raises(TypeError, match=f"W has dtype {bad.dtype}"):
        linear_forward(np.ones((3, 2)), bad.T)
    with pytest.raises(TypeError, match=f"dY has dtype {bad.dtype}"):
        linear_backward(bad, np.ones((2, 3)), np.ones((3, 3)))


def test_not_an_array():
    with pytest.raises(TypeError, match="X must be a numpy array"):
        linear_forward("abc", np.ones((3, 2)))


def test_integers_are_cast_to_float64():
    X = np.array([[1, 2]], dtype=np.int64)
    W = np.array([[1, 0], [0, 1]], dtype=np.int32)
    Y = linear_forward(X, W, np.array([1, 1]))
    assert Y.dtype == np.float64
    np.testing.assert_array_equal(Y, [[2.0, 3.0]])
    dX, dW, db = linear_backward(np.array([[3, 1]]), X, W)
    assert dX.dtype == dW.dtype == db.dtype == np.float64
    # dX = G W^T = [[3, 1]] @ I, dW = X^T G = [[1],[2]] @ [[3, 1]], db = [3, 1]
    np.testing.assert_array_equal(dX, [[3.0, 1.0]])
    np.testing.assert_array_equal(dW, [[3.0, 1.0], [6.0, 2.0]])
    np.testing.assert_array_equal(db, [3.0, 1.0])
