"""a4's tests against other ways of writing its answers, graded through the engine.

Correct answers written differently from the key (einsum or np.dot instead of @, no float conversion,
softmax by log-sum-exp, a gradient that does not call softmax, the ReLU mask taken on H, a shuffle by
rng.shuffle with in-place updates, predict with its own forward pass) earn full marks; a mistake in
one task costs points in that task's tests only, also where a later answer calls the faulty function
(the tests hand later tasks their own correct versions of the earlier ones). Each case is the answer
key with one solution cell edited, graded in one run as `adcourse check` grades the typical mistakes
of tests/mutants.
"""

import functools

import pytest
from helpers.alternatives import assert_key_full, assert_loses_nothing, assert_loses_only, case

from autograder.check import AssignmentCheck, check_assignment

NAME = "a4_linear_layer"
NOTEBOOK = "linear_layer.ipynb"

_KEY_FORWARD = """    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(
            f"linear_forward: X has shape {X.shape} and W has shape {W.shape}; "
            "X must be (B, H1) and W (H1, H2)"
        )
    Y = X @ W
    if b is not None:
        Y = Y + np.asarray(b, dtype=float)
    return Y"""
_KEY_BACKWARD = """    dX = dY @ W.T
    dW = X.T @ dY
    db = dY.sum(axis=0)"""
_KEY_CHECKER = """    H1, H2 = W.shape
    layer = torch.nn.Linear(H1, H2, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))  # torch stores (out, in) = W^T
        layer.bias.copy_(torch.from_numpy(np.asarray(b, dtype=float)))"""
_KEY_SOFTMAX = """    shifted = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    return E / E.sum(axis=1, keepdims=True)"""
_KEY_GRAD = """    G = softmax(Z)
    G[np.arange(B), y] -= 1.0
    return G / B"""
_KEY_MASK = """    dS = dH * (S > 0)"""
_KEY_SGD = """    n = X.shape[0]
    order = rng.permutation(n)
    losses = []
    for start in range(0, n, batch_size):
        batch = order[start : start + batch_size]
        Z, cache = mlp_forward(params, X[batch])
        losses.append(cross_entropy_loss(Z, y[batch]))
        grads = mlp_backward(params, cache, cross_entropy_grad(Z, y[batch]))
        for name in params:
            params[name] = params[name] - lr * grads[name]
    return float(np.mean(losses))"""
_KEY_PREDICT = """    Z, _ = mlp_forward(params, X)
    return np.argmax(Z, axis=1)"""


_case = functools.partial(case, NOTEBOOK)


CORRECT = [
    _case(
        "alt-forward-dot-no-conversion",
        "linear-forward",
        _KEY_FORWARD,
        "    if np.shape(X)[-1] != np.shape(W)[0]:\n"
        "        raise ValueError('cannot multiply X of shape ' + str(np.shape(X)) + ' by W of shape '"
        " + str(np.shape(W)))\n"
        "    out = np.dot(X, W)\n    return out if b is None else np.add(out, b)",
    ),
    _case(
        "alt-backward-einsum-and-ones",
        "linear-backward",
        _KEY_BACKWARD,
        "    dX = np.einsum('ik,jk->ij', dY, W)\n    dW = (dY.T @ X).T\n    db = np.ones(dY.shape[0]) @ dY",
    ),
    _case(
        "alt-checker-weight-data",
        "compare-with-torch",
        _KEY_CHECKER,
        "    layer = torch.nn.Linear(W.shape[0], W.shape[1]).double()\n"
        "    with torch.no_grad():\n        layer.weight[:] = torch.tensor(W).T\n"
        "        layer.bias[:] = torch.tensor(b)",
    ),
    _case(
        "alt-softmax-log-sum-exp",
        "softmax-cross-entropy",
        _KEY_SOFTMAX,
        "    m = np.max(Z, axis=1, keepdims=True)\n"
        "    lse = m + np.log(np.sum(np.exp(Z - m), axis=1, keepdims=True))\n    return np.exp(Z - lse)",
    ),
    _case(
        "alt-grad-own-softmax-and-eye",
        "softmax-cross-entropy",
        _KEY_GRAD,
        "    P = np.exp(Z - Z.max(axis=1)[:, None])\n    P = P / P.sum(axis=1)[:, None]\n"
        "    return (P - np.eye(Z.shape[1])[np.asarray(y)]) / len(Z)",
    ),
    _case("alt-relu-mask-on-h", "mlp", _KEY_MASK, "    dS = np.where(H > 0, dH, 0.0)"),
    _case(
        "alt-sgd-shuffle-in-place-updates",
        "sgd-epoch",
        _KEY_SGD,
        "    idx = np.arange(len(X))\n    rng.shuffle(idx)\n    total, count, i = 0.0, 0, 0\n"
        "    while i < len(idx):\n        part = idx[i : i + batch_size]\n        i += batch_size\n"
        "        Z, cache = mlp_forward(params, X[part])\n        total += cross_entropy_loss(Z, y[part])\n"
        "        count += 1\n        g = mlp_backward(params, cache, cross_entropy_grad(Z, y[part]))\n"
        "        for k, v in g.items():\n            params[k] -= lr * v\n    return total / count",
    ),
    _case(
        "alt-predict-own-forward",
        "train",
        _KEY_PREDICT,
        "    H = np.maximum(X @ params['W1'] + params['b1'], 0)\n"
        "    return (H @ params['W2'] + params['b2']).argmax(axis=1)",
    ),
]

# A mistake in one task, and the only test cell it may cost points in (later answers of the key call
# the faulty function: mlp_forward calls linear_forward, mlp_backward linear_backward, cross_entropy_grad
# softmax, sgd_epoch all of Part 4 and 5a, train_mlp sgd_epoch).
CASCADES = {
    _case(
        "slip-forward-bias-column",
        "linear-forward",
        "Y = Y + np.asarray(b, dtype=float)",
        "Y = Y + np.asarray(b, dtype=float)[:, None]",
    ): "test-linear-forward",
    _case(
        "slip-backward-dw-transposed", "linear-backward", "dW = X.T @ dY", "dW = dY.T @ X"
    ): "test-backward-dw",
    _case(
        "slip-softmax-axis",
        "softmax-cross-entropy",
        "return E / E.sum(axis=1, keepdims=True)",
        "return E / E.sum(axis=0, keepdims=True)",
    ): "test-softmax",
    _case(
        "slip-grad-no-mean", "softmax-cross-entropy", "    return G / B", "    return G"
    ): "test-cross-entropy-grad",
    _case("slip-relu-mask", "mlp", "dS = dH * (S > 0)", "dS = dH"): "test-mlp-backward",
    _case(
        "slip-sgd-uphill", "sgd-epoch", "params[name] - lr * grads[name]", "params[name] + lr * grads[name]"
    ): "test-sgd-epoch",
}


@pytest.fixture(scope="module")
def graded() -> AssignmentCheck:
    return check_assignment(NAME, mutants=CORRECT + list(CASCADES))


def test_the_key_earns_full_marks(graded) -> None:
    assert_key_full(graded)


@pytest.mark.parametrize("name", [c.name for c in CORRECT])
def test_a_correct_alternative_earns_full_marks(graded, name) -> None:
    assert_loses_nothing(graded, name)


@pytest.mark.parametrize("case", list(CASCADES), ids=lambda c: c.name)
def test_a_mistake_costs_points_in_its_own_test_only(graded, case) -> None:
    assert_loses_only(graded, case.name, CASCADES[case])
