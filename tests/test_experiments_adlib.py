"""Tests for the adlib experiments: vanishing gradients (Figure 5) and the batch-size study."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from adlib.data import load_digits
from adlib.experiments.batch_size import BatchSizeResult, batch_size_experiment, plot_batch_size
from adlib.experiments.vanishing import (
    VanishingResult,
    compare_activations,
    plot_vanishing_gradients,
    uniform_init,
    vanishing_gradients,
)
from adlib.nn import MLP

# ------------------------------------------------------------------ vanishing gradients


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigmoid_gradients_shrink_toward_the_input_layer(seed):
    res = vanishing_gradients("sigmoid", depth=5, seed=seed)
    assert res.sizes == (64, 32, 32, 32, 32, 32, 10)
    assert res.grad_norms.shape == (6,)  # 5 hidden layers + the output layer, input layer first
    # sigma' <= 1/4: every layer further from the loss has a smaller gradient
    assert np.all(np.diff(res.grad_norms) > 0)
    assert res.ratio < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_gradients_do_not_vanish(seed):
    sig = vanishing_gradients("sigmoid", seed=seed)
    rel = vanishing_gradients("relu", seed=seed)
    # ReLU's derivative is 1 on active units: the input layer keeps a gradient of the same order
    assert rel.ratio > 0.2
    assert rel.ratio > 20 * sig.ratio


def test_gradient_norms_equal_torch_on_the_same_network():
    # Rebuild the experiment's network and samples independently and backpropagate with torch.
    seed, n = 4, 16
    res = vanishing_gradients("sigmoid", depth=5, seed=seed, n_samples=n)
    X, y = load_digits()
    rng = np.random.default_rng(seed)
    pick = rng.choice(X.shape[0], size=n, replace=False)
    model = MLP(res.sizes, "sigmoid", rng=rng, init=uniform_init(0.5))
    layers = [lin.to_torch() for lin in model.linears]
    h = torch.tensor(X[pick] / 16.0)
    for lin in layers[:-1]:
        h = torch.sigmoid(lin(h))
    loss = F.cross_entropy(layers[-1](h), torch.tensor(y[pick]))
    loss.backward()
    expected = [torch.linalg.norm(lin.weight.grad).item() for lin in layers]
    np.testing.assert_allclose(res.grad_norms, expected, rtol=1e-11)
    assert res.loss == pytest.approx(loss.item(), rel=1e-13)


def test_weights_are_uniform_in_half_interval():
    draw = uniform_init(0.5)(np.random.default_rng(0), (200, 200))
    assert draw.min() >= -0.5 and draw.max() <= 0.5
    assert np.var(draw) == pytest.approx(1 / 12, rel=0.02)  # U[-1/2, 1/2] has variance 1/12
    with pytest.raises(ValueError, match="half_width must be positive"):
        uniform_init(0.0)


def test_compare_activations_and_plot():
    results = compare_activations(("sigmoid", "relu", "gelu"), depth=3, seed=0)
    assert list(results) == ["sigmoid", "relu", "gelu"]
    assert all(isinstance(r, VanishingResult) and r.grad_norms.shape == (4,) for r in results.values())
    ax = plot_vanishing_gradients(results)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["sigmoid", "relu", "gelu"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), results["sigmoid"].grad_norms)
    plt.close("all")


def test_vanishing_argument_errors():
    with pytest.raises(ValueError, match="depth must be a positive int"):
        vanishing_gradients(depth=0)
    with pytest.raises(ValueError, match="exceeds the 1797 digits"):
        vanishing_gradients(n_samples=5000)


# ------------------------------------------------------------------ batch size


@pytest.fixture(scope="module")
def small_run() -> BatchSizeResult:
    return batch_size_experiment(batch_sizes=(16, 256), epochs=2, seed=0)


def test_batch_size_result_shapes(small_run):
    n_train = 1797 - round(0.2 * 1797)
    for m in (16, 256):
        h = small_run.histories[m]
        assert h.steps_per_epoch == -(-n_train // m)
        assert len(h.step_losses) == 2 * h.steps_per_epoch
        epochs, loss = small_run.loss_vs_epoch(m)
        np.testing.assert_array_equal(epochs, [0, 1, 2])
        times, loss_t = small_run.loss_vs_time(m)
        assert times[0] == 0.0 and np.all(np.diff(times) > 0)
        np.testing.assert_array_equal(loss, loss_t)
        assert len(h.val_accuracy) == 2


def test_every_batch_size_starts_from_the_same_weights(small_run):
    first = {m: small_run.loss_vs_epoch(m)[1][0] for m in small_run.batch_sizes}
    assert first[16] == first[256]
    # the untrained 10-class network is close to chance: loss near ln 10
    assert first[16] == pytest.approx(np.log(10), rel=0.1)


def test_smaller_batches_make_more_progress_per_epoch(small_run):
    # At the same learning rate, 72 steps per epoch beat 6 steps per epoch.
    loss16 = small_run.loss_vs_epoch(16)[1]
    loss256 = small_run.loss_vs_epoch(256)[1]
    assert loss16[-1] < loss256[-1]
    assert small_run.histories[16].steps_per_epoch > 10 * small_run.histories[256].steps_per_epoch


def test_plot_batch_size(small_run):
    for x in ("epoch", "time"):
        ax = plot_batch_size(small_run, x=x)
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        assert [line.get_label() for line in ax.get_lines()] == ["batch size 16", "batch size 256"]
    with pytest.raises(ValueError, match="x must be 'epoch' or 'time'"):
        plot_batch_size(small_run, x="steps")
    with pytest.raises(KeyError, match="no run with batch size 64"):
        small_run.loss_vs_epoch(64)
    plt.close("all")


def test_batch_size_argument_errors():
    with pytest.raises(ValueError, match="repeated"):
        batch_size_experiment(batch_sizes=(8, 8), epochs=1)
    with pytest.raises(ValueError, match="empty"):
        batch_size_experiment(batch_sizes=(), epochs=1)
