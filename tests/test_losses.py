"""Tests for adlib.nn.losses: cross-entropy and MSE against PyTorch float64 and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import adlib
from adlib.nn import cross_entropy, mse

FAST = settings(max_examples=30, deadline=None)


@FAST
@given(
    B=st.integers(1, 6), C=st.integers(1, 5), seed=st.integers(0, 2**31), scale=st.sampled_from([1.0, 30.0])
)
def test_cross_entropy_matches_torch(B, C, seed, scale):
    rng = np.random.default_rng(seed)
    z, y = scale * rng.normal(size=(B, C)), rng.integers(0, C, size=B)
    tz = torch.tensor(z, requires_grad=True)
    loss_t = F.cross_entropy(tz, torch.tensor(y))
    loss_t.backward()
    # log-sum-exp cancels terms as large as the logits, so both libraries round at ~|z| * eps.
    eps = 16 * np.finfo(float).eps * max(1.0, np.abs(z).max())
    assert cross_entropy(z, y) == pytest.approx(loss_t.item(), rel=1e-13, abs=eps)
    leaf = adlib.ReverseDiff(z)
    loss = cross_entropy(leaf, y)
    loss.backward()
    assert loss.value == pytest.approx(loss_t.item(), rel=1e-13, abs=eps)
    np.testing.assert_allclose(leaf.grad, tz.grad.numpy(), rtol=1e-12, atol=eps / B)


def test_cross_entropy_gradient_closed_form():
    # dL/dz_i = (softmax(z_i) - e_{y_i}) / B, written out with exp by hand
    z = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
    y = np.array([2, 0])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected_loss = -(math.log(p[0, 2]) + math.log(p[1, 0])) / 2
    onehot = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    leaf = adlib.ReverseDiff(z)
    loss = cross_entropy(leaf, y)
    loss.backward()
    assert loss.value == pytest.approx(expected_loss, rel=1e-14)
    np.testing.assert_allclose(leaf.grad, (p - onehot) / 2, rtol=1e-13)


def test_cross_entropy_forward_mode_directional_derivative():
    z = np.array([[0.3, -0.2], [1.0, 0.4]])
    y = np.array([0, 1])
    t = np.array([[1.0, 0.0], [0.5, -1.0]])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    grad = (p - np.eye(2)[y]) / 2
    _, d = adlib.jvp(lambda zz: cross_entropy(zz, y), (z,), (t,))
    assert d == pytest.approx(float((grad * t).sum()), rel=1e-13)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    y = np.array([0, 2])
    leaf = adlib.ReverseDiff(z)
    loss = cross_entropy(leaf, y)
    loss.backward()
    # sample 0 is right with certainty (loss 0), sample 1 loses 1000 nats
    assert loss.value == pytest.approx(500.0, rel=1e-15)
    np.testing.assert_allclose(leaf.grad, [[0.0, 0.0, 0.0], [0.0, 0.5, -0.5]], atol=1e-300)


@FAST
@given(shape=st.sampled_from([(3,), (2, 4), (1, 1), (2, 3, 2)]), seed=st.integers(0, 2**31))
def test_mse_matches_torch(shape, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    tp = torch.tensor(pred, requires_grad=True)
    loss_t = F.mse_loss(tp, torch.tensor(target))
    loss_t.backward()
    leaf = adlib.ReverseDiff(pred)
    loss = mse(leaf, target)
    loss.backward()
    assert loss.value == pytest.approx(loss_t.item(), rel=1e-13)
    np.testing.assert_allclose(leaf.grad, tp.grad.numpy(), rtol=1e-13)
    # by hand: d/dpred mean((pred - target)^2) = 2 (pred - target) / N
    np.testing.assert_allclose(leaf.grad, 2 * (pred - target) / pred.size, rtol=1e-13)


def test_mse_by_hand_with_integer_targets():
    assert mse(np.array([1.0, 2.0]), np.array([0, 4])) == pytest.approx((1 + 4) / 2)


# ------------------------------------------------------------------ bad input


def test_label_out_of_range():
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.2 for 3 classes; found \[3\]"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"found \[-1\]"):
        cross_entropy(np.zeros((2, 3)), np.array([-1, 0]))


def test_label_dtype():
    with pytest.raises(TypeError, match="labels must be integers, got dtype float64"):
        cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="labels must be integers, got dtype bool"):
        cross_entropy(np.zeros((2, 3)), np.array([True, False]))


def test_cross_entropy_shape_errors():
    with pytest.raises(ValueError, match=r"logits have shape \(2, 3\) but labels have shape \(3,\)"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"logits must have shape \(B, C\), got \(3,\)"):
        cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match=r"labels must have shape \(B,\), got \(2, 1\)"):
        cross_entropy(np.zeros((2, 3)), np.array([[0], [1]]))


def test_empty_batches():
    with pytest.raises(ValueError, match="empty batch"):
        cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="is empty"):
        mse(np.zeros((0, 2)), np.zeros((0, 2)))


def test_mse_refuses_broadcasting():
    with pytest.raises(ValueError, match=r"pred has shape \(4, 1\) but target has shape \(4,\)"):
        mse(np.zeros((4, 1)), np.zeros(4))


def test_labels_cannot_be_differentiated():
    with pytest.raises(TypeError, match="labels are data"):
        cross_entropy(np.zeros((1, 2)), adlib.ReverseDiff(np.array([0.0])))
