"""Tests for adlib.nn.layers: Parameter, Module bookkeeping, Linear (init, torch conversion), MLP,
PReLU and Swish modules. Gradients are compared with PyTorch float64 on the same weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import adlib
from adlib.data import load_digits
from adlib.nn import MLP, Activation, Linear, Module, Parameter, PReLU, Swish, cross_entropy

# ------------------------------------------------------------------ Parameter


def test_parameter_is_a_trainable_leaf_holding_a_copy():
    source = np.array([1, 2, 3])
    p = Parameter(source, name="w")
    assert isinstance(p, adlib.ReverseDiff) and p.is_leaf and p.requires_grad
    assert p.value.dtype == np.float64
    p.value[0] = 10.0
    assert source[0] == 1  # the caller's array is not aliased
    y = p * 2.0
    assert type(y) is adlib.ReverseDiff and not y.is_leaf  # operations make ordinary nodes
    y.sum().backward()
    np.testing.assert_array_equal(p.grad, [2.0, 2.0, 2.0])


def test_parameter_bad_values():
    with pytest.raises(TypeError, match="real numbers"):
        Parameter(np.array(["a"]))
    with pytest.raises(TypeError, match="plain number or array"):
        Parameter(adlib.ReverseDiff(1.0))
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        Parameter(1.0, requires_grad=1)


# ------------------------------------------------------------------ Module bookkeeping


class Two(Module):
    def __init__(self):
        self.fc1 = Linear(3, 4, rng=0)
        self.blocks = [Linear(4, 4, rng=1), PReLU(4)]
        self.scale = Parameter(np.ones(1))
        self.tied = self.fc1.weight  # shared: reported once, under its first name
        self.not_a_parameter = np.ones(2)

    def forward(self, x):
        return self.blocks[1](self.blocks[0](self.fc1(x))) * self.scale


def test_named_parameters_names_order_and_sharing():
    names = [n for n, _ in Two().named_parameters()]
    assert names == [
        "fc1.weight",
        "fc1.bias",
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.weight",
        "scale",
    ]
    m = Two()
    assert [id(p) for p in m.parameters()] == [id(p) for _, p in m.named_parameters()]
    assert m.num_parameters() == 3 * 4 + 4 + 4 * 4 + 4 + 4 + 1


def test_backward_fills_every_parameter_and_zero_grad_clears():
    m = Two()
    x = np.random.default_rng(0).normal(size=(5, 3))
    m(x).sum().backward()
    first = {n: p.grad.copy() for n, p in m.named_parameters()}
    assert all(g.shape == p.value.shape for g, p in zip(first.values(), m.parameters(), strict=True))
    m(x).sum().backward()  # gradients accumulate, as in PyTorch
    for n, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * first[n])
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_module_without_forward():
    with pytest.raises(NotImplementedError, match="does not define forward"):
        Module()(1.0)


# ------------------------------------------------------------------ Linear


def test_linear_stores_weight_as_in_by_out_and_computes_xw_plus_b():
    lin = Linear(3, 2, rng=0)
    assert lin.weight.shape == (3, 2) and lin.bias.shape == (2,)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(lin(x).value, x @ lin.weight.value + lin.bias.value, rtol=1e-15)
    assert Linear(3, 2, bias=False, rng=0).bias is None


def test_default_uniform_init_bounds_and_seeding():
    lin = Linear(400, 300, rng=7)
    bound = 1 / math.sqrt(400)
    for p in (lin.weight.value, lin.bias.value):
        assert np.abs(p).max() <= bound
    # U[-c, c] has variance c^2 / 3
    assert np.var(lin.weight.value) == pytest.approx(bound**2 / 3, rel=0.02)
    np.testing.assert_array_equal(Linear(400, 300, rng=7).weight.value, lin.weight.value)
    assert not np.array_equal(Linear(400, 300, rng=8).weight.value, lin.weight.value)


def test_kaiming_and_xavier_init():
    k = Linear(500, 400, rng=0, init="kaiming")
    assert np.std(k.weight.value) == pytest.approx(math.sqrt(2 / 500), rel=0.02)
    np.testing.assert_array_equal(k.bias.value, 0.0)
    x = Linear(500, 400, rng=0, init="xavier")
    bound = math.sqrt(6 / 900)
    assert np.abs(x.weight.value).max() <= bound
    assert np.var(x.weight.value) == pytest.approx(bound**2 / 3, rel=0.02)


def test_callable_init():
    lin = Linear(3, 2, rng=0, init=lambda rng, shape: np.full(shape, 0.5))
    np.testing.assert_array_equal(lin.weight.value, 0.5)
    np.testing.assert_array_equal(lin.bias.value, 0.5)
    with pytest.raises(ValueError, match=r"initial weight has shape \(2, 3\), expected \(3, 2\)"):
        Linear(3, 2, init=lambda rng, shape: np.zeros(shape[::-1]))


def test_linear_argument_errors():
    with pytest.raises(ValueError, match="init must be one of"):
        Linear(3, 2, init="gaussian")
    with pytest.raises(ValueError, match="in_features must be at least 1"):
        Linear(0, 2)
    with pytest.raises(TypeError, match="out_features must be an int"):
        Linear(3, 2.0)
    with pytest.raises(TypeError, match="rng must be"):
        Linear(3, 2, rng="seed")


def test_from_torch_transposes_and_agrees_with_torch():
    torch.manual_seed(0)
    tl = torch.nn.Linear(5, 3, dtype=torch.float64)
    lin = Linear.from_torch(tl)
    assert lin.weight.shape == (5, 3)  # torch's weight is (3, 5)
    np.testing.assert_array_equal(lin.weight.value, tl.weight.detach().numpy().T)
    x = np.random.default_rng(0).normal(size=(4, 5))
    np.testing.assert_allclose(lin(x).value, tl(torch.tensor(x)).detach().numpy(), rtol=1e-14)
    # the copy is independent of the torch module
    with torch.no_grad():
        tl.weight.zero_()
    assert np.abs(lin.weight.value).sum() > 0


def test_from_torch_float32_and_no_bias():
    tl = torch.nn.Linear(2, 3, bias=False)
    lin = Linear.from_torch(tl)
    assert lin.bias is None and lin.weight.value.dtype == np.float64
    np.testing.assert_array_equal(lin.weight.value, tl.weight.detach().double().numpy().T)


def test_to_torch_round_trip():
    lin = Linear(4, 2, rng=3)
    tl = lin.to_torch()
    assert tl.weight.shape == (2, 4) and tl.weight.dtype == torch.float64
    x = np.random.default_rng(1).normal(size=(3, 4))
    np.testing.assert_allclose(tl(torch.tensor(x)).detach().numpy(), lin(x).value, rtol=1e-14)
    back = Linear.from_torch(tl)
    np.testing.assert_array_equal(back.weight.value, lin.weight.value)
    np.testing.assert_array_equal(back.bias.value, lin.bias.value)
    assert lin.to_torch(torch.float32).weight.dtype == torch.float32


def test_from_torch_refuses_other_modules():
    with pytest.raises(TypeError, match=r"needs a torch\.nn\.Linear, got Conv1d"):
        Linear.from_torch(torch.nn.Conv1d(1, 1, 1))


# ------------------------------------------------------------------ MLP


def test_mlp_structure_and_forward_by_hand():
    m = MLP((4, 5, 6, 3), activation="tanh", rng=0)
    assert [type(layer).__name__ for layer in m.layers] == [
        "Linear",
        "Activation",
        "Linear",
        "Activation",
        "Linear",
    ]
    assert [(lin.in_features, lin.out_features) for lin in m.linears] == [(4, 5), (5, 6), (6, 3)]
    x = np.random.default_rng(2).normal(size=(7, 4))
    (W1, b1), (W2, b2), (W3, b3) = ((lin.weight.value, lin.bias.value) for lin in m.linears)
    expected = np.tanh(np.tanh(x @ W1 + b1) @ W2 + b2) @ W3 + b3
    np.testing.assert_allclose(m(x).value, expected, rtol=1e-14)
    assert [n for n, _ in m.named_parameters()][:3] == ["layers.0.weight", "layers.0.bias", "layers.2.weight"]


def test_mlp_64_64_10_gradients_equal_torch_on_the_digits():
    X, y = load_digits()
    X, y = X[:50] / 16.0, y[:50]
    m = MLP((64, 64, 10), "relu", rng=0)
    torch_layers = [lin.to_torch() for lin in m.linears]
    logits_t = torch_layers[1](F.relu(torch_layers[0](torch.tensor(X))))
    loss_t = F.cross_entropy(logits_t, torch.tensor(y))
    loss_t.backward()
    loss = cross_entropy(m(X), y)
    loss.backward()
    assert loss.value == pytest.approx(loss_t.item(), rel=1e-14)
    for lin, tl in zip(m.linears, torch_layers, strict=True):
        np.testing.assert_allclose(lin.weight.grad, tl.weight.grad.numpy().T, rtol=1e-11, atol=1e-16)
        np.testing.assert_allclose(lin.bias.grad, tl.bias.grad.numpy(), rtol=1e-11, atol=1e-16)


@pytest.mark.parametrize("name", ["sigmoid", "gelu", "elu", "silu", "leaky_relu"])
def test_mlp_with_other_activations_matches_torch(name):
    torch_fn = {
        "sigmoid": torch.sigmoid,
        "gelu": F.gelu,
        "elu": F.elu,
        "silu": F.silu,
        "leaky_relu": F.leaky_relu,
    }[name]
    rng = np.random.default_rng(4)
    x, labels = rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)
    m = MLP((3, 5, 4), name, rng=1)
    t1, t2 = (lin.to_torch() for lin in m.linears)
    F.cross_entropy(t2(torch_fn(t1(torch.tensor(x)))), torch.tensor(labels)).backward()
    cross_entropy(m(x), labels).backward()
    np.testing.assert_allclose(m.linears[0].weight.grad, t1.weight.grad.numpy().T, rtol=1e-11, atol=1e-16)


def test_mlp_with_a_callable_activation():
    m = MLP((2, 3, 1), activation=adlib.sin, rng=0)
    x = np.array([[0.1, 0.2]])
    (W1, b1), (W2, b2) = ((lin.weight.value, lin.bias.value) for lin in m.linears)
    np.testing.assert_allclose(m(x).value, np.sin(x @ W1 + b1) @ W2 + b2, rtol=1e-15)


def test_mlp_errors():
    with pytest.raises(ValueError, match="at least an input and an output size"):
        MLP((4,))
    with pytest.raises(ValueError, match="unknown activation 'swosh'"):
        MLP((4, 3, 2), "swosh")
    with pytest.raises(TypeError, match="name or a callable"):
        Activation(3)


# ------------------------------------------------------------------ trainable activations


def test_prelu_module_matches_torch():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 4))
    ours = PReLU(4, init=0.1)
    ours.weight.value = rng.uniform(-0.5, 0.5, size=4)
    theirs = torch.nn.PReLU(4, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.value))
    G = rng.normal(size=(6, 4))
    (theirs(torch.tensor(x)) * torch.tensor(G)).sum().backward()
    (ours(x) * G).sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-13)
    np.testing.assert_array_equal(PReLU(3, init=0.25).weight.value, [0.25, 0.25, 0.25])


def test_swish_module_starts_as_silu_and_learns_all_four_parameters():
    x = np.linspace(-3, 3, 12).reshape(4, 3)
    sw = Swish(3)
    np.testing.assert_allclose(sw(x).value, x / (1 + np.exp(-x)), rtol=1e-14)
    sw(x).sum().backward()
    # at a = c = 1, b = d = 0 (g = sigma(s)): d/da = s^2 g(1-g), d/db = s g(1-g), d/dc = s g, d/dd = g
    g = 1 / (1 + np.exp(-x))
    expected = {
        "a": (x * x * g * (1 - g)).sum(0),
        "b": (x * g * (1 - g)).sum(0),
        "c": (x * g).sum(0),
        "d": g.sum(0),
    }
    for name, p in sw.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-13, atol=1e-15)


def test_mlp_with_trainable_activations_has_their_parameters():
    m = MLP((3, 4, 2), "swish", rng=0)
    assert [n for n, _ in m.named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.a",
        "layers.1.b",
        "layers.1.c",
        "layers.1.d",
        "layers.2.weight",
        "layers.2.bias",
    ]
    p = MLP((3, 4, 2), "prelu", rng=0)
    assert p.layers[1].weight.shape == (4,)
    cross_entropy(p(np.ones((2, 3))), np.array([0, 1])).backward()
    assert all(q.grad is not None for q in p.parameters())
