"""Tests for adlib.optim (SGD) and adlib.training (mini-batches, epochs, train loop, accuracy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from adlib.data import load_digits, train_test_split
from adlib.nn import MLP, Parameter, cross_entropy, mse
from adlib.optim import SGD
from adlib.training import History, accuracy, evaluate_loss, iterate_minibatches, train

FAST = settings(max_examples=30, deadline=None)

# ------------------------------------------------------------------ SGD


def test_sgd_step_by_hand():
    w = Parameter(np.array([1.0, 2.0]))
    w.grad = np.array([0.5, -1.0])
    SGD([w], lr=0.1).step()
    np.testing.assert_allclose(w.value, [1.0 - 0.05, 2.0 + 0.1], rtol=1e-15)


def test_sgd_momentum_by_hand():
    # v1 = g1, v2 = 0.9 v1 + g2, v3 = 0.9 v2 + g3;  w_t = w_{t-1} - lr v_t
    w = Parameter(np.array([0.0]))
    opt = SGD([w], lr=0.5, momentum=0.9)
    expected = 0.0
    v = 0.0
    for g in (1.0, -2.0, 4.0):
        w.grad = np.array([g])
        opt.step()
        v = 0.9 * v + g
        expected -= 0.5 * v
        assert w.value[0] == pytest.approx(expected, rel=1e-15)
    assert expected == pytest.approx(-0.5 * (1.0 + (0.9 - 2.0) + (0.9 * (0.9 - 2.0) + 4.0)))


def test_sgd_matches_torch_optim_sgd():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 2))
    grads = [rng.normal(size=(3, 2)) for _ in range(4)]
    ours = Parameter(start)
    theirs = torch.nn.Parameter(torch.tensor(start))
    opt, topt = SGD([ours], lr=0.3, momentum=0.8), torch.optim.SGD([theirs], lr=0.3, momentum=0.8)
    for g in grads:
        ours.grad = g
        theirs.grad = torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(ours.value, theirs.detach().numpy(), rtol=1e-14)


def test_sgd_skips_frozen_and_gradless_parameters_and_zero_grad():
    a, b, c = Parameter(np.ones(2)), Parameter(np.ones(2), requires_grad=False), Parameter(np.ones(2))
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt = SGD([a, b, c], lr=1.0)
    opt.step()
    np.testing.assert_array_equal(a.value, 0.0)
    np.testing.assert_array_equal(b.value, 1.0)  # frozen
    np.testing.assert_array_equal(c.value, 1.0)  # no gradient yet
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_sgd_replaces_values_instead_of_writing_into_them():
    w = Parameter(np.array([1.0]))
    old = w.value
    w.grad = np.array([1.0])
    SGD([w], lr=0.5).step()
    assert old[0] == 1.0 and w.value[0] == 0.5


def test_sgd_argument_errors():
    with pytest.raises(ValueError, match="empty list"):
        SGD([], lr=0.1)
    w = Parameter(np.ones(1))
    with pytest.raises(ValueError, match="appears twice"):
        SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match=r"computed by an operation \(mul\)"):
        SGD([w * 2.0], lr=0.1)
    with pytest.raises(TypeError, match="must be a ReverseDiff/Parameter, got ndarray"):
        SGD([np.ones(1)], lr=0.1)
    with pytest.raises(ValueError, match="lr must be positive"):
        SGD([w], lr=0.0)
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\)"):
        SGD([w], lr=0.1, momentum=1.0)
    with pytest.raises(TypeError, match="lr must be a real number"):
        SGD([w], lr="0.1")


# ------------------------------------------------------------------ mini-batches


@FAST
@given(n=st.integers(1, 60), m=st.integers(1, 70), seed=st.integers(0, 2**31))
def test_each_epoch_uses_every_sample_exactly_once(n, m, seed):
    X = np.arange(n, dtype=float).reshape(n, 1) * 10
    y = np.arange(n)
    gen = np.random.default_rng(seed)
    batches = list(iterate_minibatches(X, y, m, gen))
    assert len(batches) == -(-n // m)  # ceil(n / m)
    sizes = [len(yb) for _, yb in batches]
    assert all(s == m for s in sizes[:-1]) and 1 <= sizes[-1] <= m
    assert sizes[-1] == (n % m or m)  # the last partial batch is kept
    seen = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(n))
    for xb, yb in batches:  # rows stay paired with their labels
        np.testing.assert_array_equal(xb[:, 0], yb * 10)


def test_epochs_are_shuffled_differently():
    X, y = np.zeros((50, 2)), np.arange(50)
    gen = np.random.default_rng(0)
    orders = [np.concatenate([yb for _, yb in iterate_minibatches(X, y, 8, gen)]) for _ in range(3)]
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    assert not np.array_equal(orders[0], np.arange(50))
    unshuffled = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 8, shuffle=False)])
    np.testing.assert_array_equal(unshuffled, np.arange(50))


def test_minibatch_errors():
    with pytest.raises(ValueError, match=r"X has 3 samples \(shape \(3, 2\)\) but y has 2"):
        list(iterate_minibatches(np.zeros((3, 2)), np.zeros(2), 2, 0))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        list(iterate_minibatches(np.zeros((3, 2)), np.zeros(3), 0, 0))
    with pytest.raises(ValueError, match="empty"):
        list(iterate_minibatches(np.zeros((0, 2)), np.zeros(0), 2, 0))
    with pytest.raises(ValueError, match="needs rng"):
        list(iterate_minibatches(np.zeros((3, 2)), np.zeros(3), 2))


# ------------------------------------------------------------------ accuracy and loss evaluation


def test_accuracy_by_hand():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([1, 1, 1, 0])
    assert accuracy(lambda X: logits, np.zeros((4, 3)), labels) == 0.75
    with pytest.raises(TypeError, match="integer labels"):
        accuracy(lambda X: logits, np.zeros((4, 3)), labels.astype(float))


def test_evaluate_loss_is_the_cross_entropy_of_the_model_output():
    rng = np.random.default_rng(0)
    m = MLP((3, 2), rng=0)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
    logits = X @ m.linears[0].weight.value + m.linears[0].bias.value
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert evaluate_loss(m, X, y) == pytest.approx(-np.mean(np.log(p[np.arange(5), y])), rel=1e-13)


# ------------------------------------------------------------------ the train loop


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return train_test_split(X / 16.0, y, test_fraction=0.2, seed=0)


def test_mlp_64_64_10_reaches_95_percent_on_the_digits(digits):
    X_train, X_test, y_train, y_test = digits
    model = MLP((64, 64, 10), "relu", rng=0)
    # (Seeds 0-4 of this setting reach 95.5-96.7% test accuracy.)
    hist = train(
        model,
        X_train,
        y_train,
        epochs=30,
        batch_size=32,
        lr=0.02,
        momentum=0.9,
        seed=0,
        X_val=X_test,
        y_val=y_test,
    )
    assert accuracy(model, X_test, y_test) >= 0.95
    assert hist.val_accuracy[-1] == accuracy(model, X_test, y_test)
    assert hist.train_loss[-1] < 0.1 * hist.initial_train_loss


def test_history_contents(digits):
    X_train, _, y_train, _ = digits
    X, y = X_train[:200], y_train[:200]
    model = MLP((64, 16, 10), rng=1)
    hist = train(model, X, y, epochs=3, batch_size=64, lr=0.1, seed=0)
    assert isinstance(hist, History)
    assert hist.epochs == [1, 2, 3]
    assert hist.steps_per_epoch == 4 and len(hist.step_losses) == 12
    for series in (hist.train_loss, hist.running_loss, hist.train_accuracy, hist.epoch_seconds, hist.elapsed):
        assert len(series) == 3
    assert hist.val_loss == [] and hist.val_accuracy == []
    np.testing.assert_allclose(hist.elapsed, np.cumsum(hist.epoch_seconds))
    assert hist.train_loss[-1] == pytest.approx(evaluate_loss(model, X, y), rel=1e-14)
    assert hist.train_accuracy[-1] == accuracy(model, X, y)
    # running loss = batch-size-weighted mean of the epoch's mini-batch losses (200 = 3 x 64 + 8)
    first = np.array(hist.step_losses[:4])
    assert hist.running_loss[0] == pytest.approx(float(first @ [64, 64, 64, 8]) / 200, rel=1e-14)
    assert hist.train_loss[-1] < hist.initial_train_loss


def test_train_is_reproducible_and_seed_dependent(digits):
    X, y = digits[0][:150], digits[2][:150]
    runs = []
    for seed in (0, 0, 1):
        model = MLP((64, 8, 10), rng=0)
        runs.append(train(model, X, y, epochs=2, batch_size=16, lr=0.1, seed=seed).step_losses)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_one_step_equals_a_manual_sgd_step():
    # One epoch with batch_size = N and no shuffling effect: w <- w - lr dL/dw on the full batch.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    model = MLP((3, 2), rng=0)
    W0, b0 = model.linears[0].weight.value.copy(), model.linears[0].bias.value.copy()
    z = X @ W0 + b0
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    G = (p - np.eye(2)[y]) / 6  # dL/dz, the mean cross-entropy's gradient
    train(model, X, y, epochs=1, batch_size=6, lr=0.3, seed=0)
    np.testing.assert_allclose(model.linears[0].weight.value, W0 - 0.3 * X.T @ G, rtol=1e-13)
    np.testing.assert_allclose(model.linears[0].bias.value, b0 - 0.3 * G.sum(0), rtol=1e-13)


def test_train_with_mse_loss_and_float_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([[1.5], [-2.0]]) + 0.5
    model = MLP((2, 1), rng=0)
    hist = train(model, X, y, epochs=40, batch_size=8, lr=0.1, seed=0, loss=mse)
    assert hist.train_accuracy == []  # not a classification problem
    assert hist.train_loss[-1] < 1e-6
    np.testing.assert_allclose(model.linears[0].weight.value[:, 0], [1.5, -2.0], atol=1e-3)


def test_train_argument_errors():
    model = MLP((2, 2), rng=0)
    X, y = np.zeros((4, 2)), np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        train(model, X, y, epochs=0, batch_size=2, lr=0.1)
    with pytest.raises(ValueError, match="both X_val and y_val"):
        train(model, X, y, epochs=1, batch_size=2, lr=0.1, X_val=X)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        train(model, X, y, epochs=1, batch_size=2.0, lr=0.1)


def test_gradients_reach_every_parameter_in_training():
    model = MLP((4, 3, 2), "elu", rng=0)
    X, y = np.random.default_rng(0).normal(size=(5, 4)), np.array([0, 1, 1, 0, 1])
    before = [p.value.copy() for p in model.parameters()]
    train(model, X, y, epochs=1, batch_size=5, lr=0.1, seed=0)
    assert all(not np.array_equal(b, p.value) for b, p in zip(before, model.parameters(), strict=True))
    cross_entropy(model(X), y).backward()
    assert all(isinstance(p.grad, np.ndarray) for p in model.parameters())
