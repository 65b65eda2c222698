"""Tests for the PyTorch experiments: grad modes, the quaternion custom autograd.Function, checkpointing.

Expected values are independent of the code under test: the Hamilton product written out by hand,
``torch.autograd.gradcheck`` (central differences in float64), PyTorch's own autograd on the same maths,
and saved-byte counts computed by hand from the VJP rules (a matmul ``X W`` needs ``X`` and ``W``; a ReLU
needs its output). No test looks at timings.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.checkpoint import checkpoint_sequential

from adlib.experiments._torch_memory import SavedTensorMeter, median_seconds, time_interleaved
from adlib.experiments.checkpointing import CheckpointingResult, checkpointing_experiment, make_deep_mlp
from adlib.experiments.custom_function import (
    HAMILTON_BLOCKS,
    QuaternionLinear,
    QuaternionLinearFunction,
    QuaternionMemoryResult,
    assemble_quaternion_weight,
    quaternion_linear_autograd,
    quaternion_memory_experiment,
    reduce_quaternion_grad,
)
from adlib.experiments.grad_modes import (
    GRAD_MODES,
    GradModesResult,
    grad_mode_context,
    grad_modes_timing,
    make_matmul_net,
)
from adlib.experiments.plotting import plot_checkpointing, plot_grad_modes, plot_quaternion_memory

FAST = settings(max_examples=20, deadline=None)
F64 = torch.float64


def _rand(*shape: int, seed: int, requires_grad: bool = True) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=F64).requires_grad_(requires_grad)


def _quaternion_inputs(batch: int, a: int, b: int, seed: int, bias: bool = True):
    x = _rand(batch, 4 * a, seed=seed)
    comps = [_rand(a, b, seed=seed + 1 + n) for n in range(4)]
    bvec = _rand(4 * b, seed=seed + 9) if bias else None
    return x, comps, bvec


# --------------------------------------------------------------------------- the Hamilton block matrix


def _hamilton(w: tuple[float, ...], x: tuple[float, ...]) -> tuple[float, ...]:
    """Textbook Hamilton product (a1 + b1 i + c1 j + d1 k)(a2 + b2 i + c2 j + d2 k)."""
    a1, b1, c1, d1 = w
    a2, b2, c2, d2 = x
    return (
        a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2,
        a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
        a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2,
        a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2,
    )


@FAST
@given(
    w=st.tuples(*[st.floats(-3, 3) for _ in range(4)]),
    x=st.tuples(*[st.floats(-3, 3) for _ in range(4)]),
)
def test_block_matrix_is_the_hamilton_product(w, x):
    comps = [torch.tensor([[c]], dtype=F64) for c in w]
    y = torch.tensor([x], dtype=F64) @ assemble_quaternion_weight(*comps)
    expected = torch.tensor([_hamilton(w, x)], dtype=F64)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)


def test_block_matrix_blocks_for_rectangular_components():
    r, i, j, k = (_rand(2, 3, seed=s, requires_grad=False) for s in range(4))
    w = assemble_quaternion_weight(r, i, j, k)
    assert w.shape == (8, 12)
    # block (p, q) sits at rows 2p:2p+2, columns 3q:3q+3; expected layout written out by hand
    expected = [[r, i, j, k], [-i, r, k, -j], [-j, -k, r, i], [-k, j, -i, r]]
    for p in range(4):
        for q in range(4):
            torch.testing.assert_close(
                w[2 * p : 2 * p + 2, 3 * q : 3 * q + 3], expected[p][q], rtol=0, atol=0
            )


def test_reduce_is_the_adjoint_of_assemble():
    # <assemble(c), G> = sum_c <c, reduce(G)_c> for every c and G (the reduction is the transpose map)
    comps = [_rand(2, 3, seed=s, requires_grad=False) for s in range(4)]
    g = _rand(8, 12, seed=7, requires_grad=False)
    lhs = (assemble_quaternion_weight(*comps) * g).sum()
    rhs = sum((c * d).sum() for c, d in zip(comps, reduce_quaternion_grad(g), strict=True))
    torch.testing.assert_close(lhs, rhs)


# --------------------------------------------------------------------------- the custom Function


@pytest.mark.parametrize("bias", [False, True])
def test_gradcheck_passes_for_quaternion_function(bias):
    x, comps, bvec = _quaternion_inputs(3, 2, 1, seed=0, bias=bias)
    assert torch.autograd.gradcheck(QuaternionLinearFunction.apply, (x, *comps, bvec))


def test_gradcheck_with_leading_batch_dimensions():
    x = _rand(2, 3, 8, seed=3)
    comps = [_rand(2, 2, seed=10 + n) for n in range(4)]
    assert torch.autograd.gradcheck(QuaternionLinearFunction.apply, (x, *comps, None))


def _flip_one_sign(table):
    rows = [list(row) for row in table]
    comp, sign = rows[1][0]
    rows[1][0] = (comp, -sign)
    return tuple(tuple(row) for row in rows)


def _function_with_reduce_table(table):
    """A quaternion Function whose backward reduces dL/dW with ``table`` (forward always correct)."""

    class _Quaternion(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, r, i, j, k):
            ctx.save_for_backward(x, r, i, j, k)
            return x @ assemble_quaternion_weight(r, i, j, k)

        @staticmethod
        def backward(ctx, g):
            x, r, i, j, k = ctx.saved_tensors
            w = assemble_quaternion_weight(r, i, j, k)
            return (g @ w.T, *reduce_quaternion_grad(x.T @ g, table=table))

    return _Quaternion


def test_gradcheck_fails_for_a_backward_with_one_sign_flipped():
    x, comps, _ = _quaternion_inputs(3, 2, 2, seed=1, bias=False)
    good = _function_with_reduce_table(HAMILTON_BLOCKS)
    broken = _function_with_reduce_table(_flip_one_sign(HAMILTON_BLOCKS))
    assert torch.autograd.gradcheck(good.apply, (x, *comps))
    assert not torch.autograd.gradcheck(broken.apply, (x, *comps), raise_exception=False)


@FAST
@given(
    batch=st.integers(1, 4),
    a=st.integers(1, 3),
    b=st.integers(1, 3),
    bias=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_default_and_custom_paths_agree(batch, a, b, bias, seed):
    x, comps, bvec = _quaternion_inputs(batch, a, b, seed=seed, bias=bias)
    leaves = [x, *comps] + ([bvec] if bias else [])
    g_out = _rand(batch, 4 * b, seed=seed + 20, requires_grad=False)

    y_def = quaternion_linear_autograd(x, *comps, bvec)
    grads_def = torch.autograd.grad(y_def, leaves, g_out)
    y_cus = QuaternionLinearFunction.apply(x, *comps, bvec)
    grads_cus = torch.autograd.grad(y_cus, leaves, g_out)

    torch.testing.assert_close(y_cus, y_def, rtol=0, atol=0)
    for gd, gc in zip(grads_def, grads_cus, strict=True):
        torch.testing.assert_close(gc, gd, rtol=1e-12, atol=1e-12)


def test_module_flag_switches_path_with_equal_results():
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    lean = QuaternionLinear(8, 12, memory_efficient=True, generator=gen_a, dtype=F64)
    plain = QuaternionLinear(8, 12, memory_efficient=False, generator=gen_b, dtype=F64)
    with torch.no_grad():
        lean.bias.copy_(torch.arange(12, dtype=F64))
        plain.bias.copy_(torch.arange(12, dtype=F64))
    x = _rand(5, 8, seed=2, requires_grad=False)
    y_lean, y_plain = lean(x), plain(x)
    assert y_lean.grad_fn.name().endswith("QuaternionLinearFunctionBackward")
    assert not y_plain.grad_fn.name().endswith("QuaternionLinearFunctionBackward")
    torch.testing.assert_close(y_lean, y_plain, rtol=0, atol=0)
    y_lean.square().sum().backward()
    y_plain.square().sum().backward()
    for name in ("r", "i", "j", "k", "bias"):
        torch.testing.assert_close(getattr(lean, name).grad, getattr(plain, name).grad)
    assert lean.assembled_weight().shape == (8, 12)


# --------------------------------------------------------------------------- saved-tensor measurement


def test_meter_on_plain_matmul_matches_hand_count():
    x, w = _rand(6, 10, seed=0), _rand(10, 7, seed=1)
    with SavedTensorMeter() as meter:
        y = x @ w
    stats = meter.stats()
    # dL/dx = G w^T needs w, dL/dw = x^T G needs x: nothing else
    assert stats.n_saved == 2
    assert stats.saved_bytes == 6 * 10 * 8 + 10 * 7 * 8
    del y


def test_meter_counts_a_shared_storage_once_and_excludes_alive_tensors():
    x, w, v = _rand(4, 5, seed=0), _rand(5, 6, seed=1), _rand(6, 3, seed=2)
    with SavedTensorMeter(alive=[x, w, v]) as meter:
        h = torch.relu(x @ w)  # mm saves x, w; relu saves its output h
        z = h @ v  # mm saves h (again) and v
    stats = meter.stats()
    assert stats.n_saved == 5
    assert stats.n_storages == 4
    assert stats.saved_bytes == 8 * (4 * 5 + 5 * 6 + 4 * 6 + 6 * 3)
    assert stats.extra_bytes == 8 * 4 * 6  # only h exists just for the graph
    del z


def test_meter_sees_nothing_under_no_grad():
    x, w = _rand(3, 4, seed=0), _rand(4, 2, seed=1)
    with SavedTensorMeter() as meter, torch.no_grad():
        _ = torch.relu(x @ w)
    assert meter.stats().saved_bytes == 0
    assert meter.stats().n_saved == 0


def test_default_path_saves_big_w_custom_saves_components():
    batch, a, b = 3, 5, 6
    x, comps, bvec = _quaternion_inputs(batch, a, b, seed=4)
    with SavedTensorMeter() as m_def:
        y_def = quaternion_linear_autograd(x, *comps, bvec)
    with SavedTensorMeter() as m_cus:
        y_cus = QuaternionLinearFunction.apply(x, *comps, bvec)
    x_bytes, w_bytes = 8 * batch * 4 * a, 8 * (4 * a) * (4 * b)
    assert m_def.stats().saved_bytes == x_bytes + w_bytes
    assert m_cus.stats().saved_bytes == x_bytes + 4 * 8 * a * b
    assert m_cus.stats().saved_bytes < m_def.stats().saved_bytes
    del y_def, y_cus


def test_quaternion_experiment_matches_hand_formula():
    batch, n, layers = 2, 8, 3
    res = quaternion_memory_experiment(batch=batch, features=n, layers=layers, repeats=1)
    assert isinstance(res, QuaternionMemoryResult)
    # float32: activations (L+1) B n; default adds W for layers 2..L, custom the 4 components of every layer
    assert res.bytes_default == 4 * ((layers + 1) * batch * n + (layers - 1) * n * n)
    assert res.bytes_custom == 4 * ((layers + 1) * batch * n + layers * n * n // 4)
    assert res.bytes_custom < res.bytes_default
    assert res.extra_bytes_custom == 4 * layers * batch * n
    assert res.ratio == pytest.approx(res.bytes_default / res.bytes_custom)
    assert res.max_output_diff == 0.0
    assert res.max_grad_diff < 1e-4
    assert len(res.times_default) == len(res.times_custom) == 1
    assert set(res.as_dict()) >= {"bytes_default", "bytes_custom", "ratio", "time_default", "time_ratio"}


# --------------------------------------------------------------------------- checkpointing


def test_checkpointing_gives_the_same_gradients_with_fewer_saved_bytes():
    depth, width, batch, segments = 4, 8, 3, 2
    res = checkpointing_experiment(depth=depth, width=width, batch=batch, segments=segments, repeats=1)
    assert isinstance(res, CheckpointingResult)
    assert res.max_grad_diff < 1e-6
    assert res.max_output_diff < 1e-6
    act = 4 * batch * width
    assert res.extra_bytes_plain == depth * act
    assert res.extra_bytes_checkpointed == (segments - 1 + depth // segments) * act
    assert res.bytes_checkpointed < res.bytes_plain


def test_checkpoint_sequential_gradients_match_plain_backprop_in_float64():
    net = make_deep_mlp(6, 5, seed=1).double()
    x = _rand(4, 5, seed=0)
    params = [*net.parameters(), x]
    g_plain = torch.autograd.grad(net(x).square().sum(), params)
    out = checkpoint_sequential(net, 3, x, use_reentrant=False)
    g_ckpt = torch.autograd.grad(out.square().sum(), params)
    for a, b in zip(g_plain, g_ckpt, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- grad modes


@pytest.fixture(scope="module")
def modes_result() -> GradModesResult:
    return grad_modes_timing(sizes=(4, 8, 8, 1), batch=3, repeats=2)


def test_grad_modes_flags_and_graph_bytes(modes_result):
    d, ng, im = (modes_result.modes[m] for m in GRAD_MODES)
    assert d.requires_grad and d.has_grad_fn and not d.is_inference
    assert not ng.requires_grad and not ng.has_grad_fn and not ng.is_inference
    assert not im.requires_grad and not im.has_grad_fn and im.is_inference
    assert ng.saved_bytes == 0 and im.saved_bytes == 0
    # default mode keeps the two hidden ReLU outputs (3 x 8 float32 each) beyond weights and input
    assert d.extra_bytes == 2 * 3 * 8 * 4
    # ... and the weights of layers 2 and 3 (layer 1's matmul needs only the input, which needs no grad)
    assert d.saved_bytes == d.extra_bytes + 3 * 4 * 4 + 4 * (8 * 8 + 8 * 1)
    assert all(len(m.times) == 2 for m in modes_result.modes.values())
    assert modes_result.speedup("default") == 1.0


def test_inference_tensors_cannot_enter_autograd_later():
    net = make_matmul_net((3, 4, 2), seed=0)
    x = torch.randn(2, 3)
    with grad_mode_context("inference_mode"):
        y_inf = net(x)
    with grad_mode_context("no_grad"):
        y_ng = net(x)
    w = torch.ones(2, requires_grad=True)
    (y_ng * w).sum().backward()  # no_grad outputs are ordinary tensors
    assert w.grad is not None
    with pytest.raises(RuntimeError, match=r"[Ii]nference tensors"):
        (y_inf * w).sum().backward()


def test_default_context_records_even_inside_no_grad():
    w = torch.ones(3, requires_grad=True)
    with torch.no_grad(), grad_mode_context("default"):
        y = (w * 2).sum()
    assert y.grad_fn is not None


# --------------------------------------------------------------------------- plots


def test_plot_helpers_label_their_axes(modes_result):
    q = quaternion_memory_experiment(batch=2, features=8, layers=2, repeats=3)
    c = checkpointing_experiment(depth=4, width=8, batch=2, segments=2, repeats=3)
    fig, axs = plt.subplots(2, 3)
    drawn = [
        plot_grad_modes(modes_result, "time", ax=axs[0, 0]),
        plot_grad_modes(modes_result, "memory", ax=axs[1, 0]),
        plot_quaternion_memory(q, "memory", ax=axs[0, 1]),
        plot_quaternion_memory(q, "time", ax=axs[1, 1]),
        plot_checkpointing(c, "memory", ax=axs[0, 2]),
        plot_checkpointing(c, "time", ax=axs[1, 2]),
    ]
    for ax, want in zip(drawn, axs.T.ravel(), strict=True):
        assert ax is want
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert len(ax.patches) >= 2
    # bar heights are the data: the grad-mode time bars are the medians in ms
    heights = [p.get_height() for p in axs[0, 0].patches]
    medians = [modes_result.modes[m].median_seconds * 1e3 for m in GRAD_MODES]
    assert heights == pytest.approx(medians)
    new_ax = plot_checkpointing(c)
    assert new_ax.figure is not fig and new_ax.get_title()
    plt.close("all")


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_clear_errors():
    x, comps, _ = _quaternion_inputs(2, 2, 3, seed=0, bias=False)
    with pytest.raises(ValueError, match=r"\(\.\.\., 8\)"):
        QuaternionLinearFunction.apply(x[:, :7], *comps)
    with pytest.raises(ValueError, match="share one shape"):
        assemble_quaternion_weight(comps[0], comps[1], comps[2], comps[3][:, :2])
    with pytest.raises(ValueError, match="divisible by 4"):
        QuaternionLinear(6, 8)
    with pytest.raises(ValueError, match="bias must have shape"):
        quaternion_linear_autograd(x, *comps, torch.zeros(5, dtype=F64))
    with pytest.raises(ValueError, match="segments must be <= depth"):
        checkpointing_experiment(depth=2, width=4, batch=1, segments=3, repeats=1)
    with pytest.raises(ValueError, match="unknown grad mode"):
        grad_mode_context("eval")
    with pytest.raises(TypeError, match="batch must be an int"):
        grad_modes_timing(sizes=(2, 1), batch=2.0)
    with pytest.raises(ValueError, match="sizes needs at least"):
        make_matmul_net((3,))
    with pytest.raises(TypeError, match="GradModesResult"):
        plot_grad_modes({"default": 1.0})
    with pytest.raises(ValueError, match="metric"):
        plot_checkpointing(
            checkpointing_experiment(depth=1, width=2, batch=1, segments=1, repeats=1), "speed"
        )
    with pytest.raises(TypeError, match=r"alive\[0\]"):
        SavedTensorMeter(alive=[1.0])


def test_timing_helpers():
    calls = []
    times = time_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then rotating order
    assert all(len(ts) == 3 and min(ts) >= 0 for ts in times.values())
    assert median_seconds([3.0, 1.0, 2.0]) == 2.0
    assert math.isfinite(median_seconds([0.5]))
    with pytest.raises(ValueError, match="at least one"):
        median_seconds([])
