"""a6's tests against other ways of writing its answers, graded through the engine.

Correct answers written differently from the key (a sigmoid through tanh, ReLU's derivative as a
Heaviside step, a backward pass that takes phi' from the layer outputs, a shuffle in place, an SGD
step that updates its arrays in place) earn full marks; a mistake in Part 1 costs points in that
function's tests only, also where gradient_norms and the experiment call the faulty function. Each
case is the answer key with one solution cell edited, graded in one run as `adcourse check` grades
the typical mistakes of tests/mutants.
"""

import functools

import pytest
from helpers.alternatives import assert_key_full, assert_loses_nothing, assert_loses_only, case

from autograder.check import AssignmentCheck, check_assignment

NAME = "a6_activations_sgd"
NOTEBOOK = "activations_sgd.ipynb"

_KEY_SIGMOID = """    z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))"""
_KEY_RELU_DERIVATIVE = """    x = np.asarray(x, dtype=float)
    return (x > 0).astype(float)"""
_KEY_BACKWARD = """    phis = {
        "sigmoid": (sigmoid, sigmoid_derivative),
        "tanh": (tanh, tanh_derivative),
        "relu": (relu, relu_derivative),
    }
    if activation not in phis:
        raise ValueError(f"activation must be one of {sorted(phis)}, got {activation!r}")
    phi, dphi = phis[activation]
    labels = np.asarray(y, dtype=int)
    hs, ss = [np.asarray(X, dtype=float)], []
    for W, b in zip(weights[:-1], biases[:-1]):
        ss.append(hs[-1] @ W + b)
        hs.append(phi(ss[-1]))
    logits = hs[-1] @ weights[-1] + biases[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs = probs / probs.sum(axis=1, keepdims=True)
    probs[np.arange(len(labels)), labels] -= 1.0
    delta = probs / len(labels)
    norms = []
    for layer in range(len(weights) - 1, -1, -1):
        norms.append(np.linalg.norm(hs[layer].T @ delta))
        if layer > 0:
            delta = (delta @ weights[layer].T) * dphi(ss[layer - 1])
    return np.array(norms[::-1])"""
# phi' from the layer's output h = phi(s): sigma' = h (1 - h), tanh' = 1 - h^2, relu' = [h > 0]; the
# softmax through log-sum-exp and a one-hot matrix; the norms collected in a dict.
_BACKWARD_FROM_OUTPUTS = """    X = np.array(X, dtype=float)
    y = np.array(y).astype(int)
    forward = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": lambda s: np.maximum(s, 0)}[activation]
    from_output = {
        "sigmoid": lambda h: h * (1 - h),
        "tanh": lambda h: 1 - h * h,
        "relu": lambda h: (h > 0) * 1.0,
    }[activation]
    outputs = [X]
    for W, b in zip(weights[:-1], biases[:-1]):
        outputs.append(forward(outputs[-1] @ W + b))
    Z = outputs[-1] @ weights[-1] + biases[-1]
    m = Z.max(axis=1)[:, None]
    log_p = Z - m - np.log(np.exp(Z - m).sum(axis=1))[:, None]
    onehot = np.eye(Z.shape[1])[y]
    grad_Z = (np.exp(log_p) - onehot) / X.shape[0]
    found = {}
    n = len(weights)
    for i in reversed(range(n)):
        found[i] = float(np.sqrt(np.sum((outputs[i].T @ grad_Z) ** 2)))
        if i:
            grad_Z = grad_Z @ weights[i].T * from_output(outputs[i])
    return np.array([found[i] for i in range(n)])"""
_KEY_MINIBATCHES = """    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]"""
_KEY_SGD = """    if velocity is None:
        velocity = [np.zeros_like(p, dtype=float) for p in params]
    new_velocity = [momentum * v + g for v, g in zip(velocity, grads)]
    new_params = [p - lr * v for p, v in zip(params, new_velocity)]
    return new_params, new_velocity"""


_case = functools.partial(case, NOTEBOOK)


CORRECT = [
    _case("alt-sigmoid-through-tanh", "sigmoid", _KEY_SIGMOID, "    return 0.5 * (1.0 + np.tanh(0.5 * x))"),
    _case(
        "alt-relu-heaviside",
        "relu",
        _KEY_RELU_DERIVATIVE,
        "    return np.heaviside(np.asarray(x, dtype=float), 0.0)",
    ),
    _case("alt-backward-from-outputs", "gradient-norms", _KEY_BACKWARD, _BACKWARD_FROM_OUTPUTS),
    _case(
        "alt-minibatches-shuffle-in-place",
        "minibatches",
        _KEY_MINIBATCHES,
        "    indices = np.arange(n)\n    rng.shuffle(indices)\n    i = 0\n    while i < n:\n"
        "        yield indices[i : i + batch_size]\n        i += batch_size",
    ),
    _case(
        "alt-sgd-in-place",
        "sgd-step",
        _KEY_SGD,
        "    if velocity is None:\n        velocity = [np.zeros(np.shape(p)) for p in params]\n"
        "    for p, g, v in zip(params, grads, velocity):\n        v *= momentum\n        v += g\n"
        "        p -= lr * v\n    return params, velocity",
    ),
]

# A mistake in Part 1, and the only test cells it may cost points in (silu, gradient_norms and the
# experiment call the faulty function).
CASCADES = {
    _case(
        "slip-sigmoid-negative-branch",
        "sigmoid",
        "z / (1.0 + z)",
        "z / (1.0 - z + 1e-300)",
    ): {"test-sigmoid", "test-sigmoid-stable"},
    _case("slip-relu-derivative", "relu", "return (x > 0).astype(float)", "return (x >= 0).astype(float)"): {
        "test-relu"
    },
    _case("slip-tanh-derivative", "tanh", "return 1.0 - t**2", "return 1.0 - t"): {"test-tanh"},
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
