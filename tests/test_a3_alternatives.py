"""a3's tests against other ways of writing its answers, graded through the engine.

Correct answers written differently from the key (Kahn's algorithm instead of a depth-first sort,
adjoints kept on the nodes, ints kept as ints, other forms of the power rule and of the VJPs, a
recursive walk where the task allows it) earn full marks; a mistake in one task costs points in that
task's tests only. Each case is the answer key with one solution cell edited, graded in one run as
`adcourse check` grades the typical mistakes of tests/mutants.
"""

import functools

import pytest
from helpers.alternatives import assert_key_full, assert_loses_nothing, assert_loses_only, case

from autograder.check import AssignmentCheck, check_assignment

NAME = "a3_reverse_mode"
NOTEBOOK = "reverse_mode.ipynb"

_KEY_BACKWARD = """        order = self._topological_order()
        adjoint = {id(self): seed}  # this call's adjoints, kept apart from .grad
        for node in reversed(order):  # children before parents
            g = adjoint.get(id(node), 0.0)
            for parent, partial in node._inputs:
                adjoint[id(parent)] = adjoint.get(id(parent), 0.0) + g * partial
        for node in order:
            g = adjoint[id(node)]
            node.grad = g if node.grad is None else node.grad + g"""

# Kahn's algorithm: count each node's users, release a node once all its users are done.
_KAHN_BACKWARD = """        users, todo, seen = {}, [self], {id(self)}
        while todo:
            node = todo.pop()
            for parent, _ in node._inputs:
                users[id(parent)] = users.get(id(parent), 0) + 1
                if id(parent) not in seen:
                    seen.add(id(parent))
                    todo.append(parent)
        adjoint = {id(self): seed}
        ready, done = [self], []
        while ready:
            node = ready.pop()
            done.append(node)
            for parent, partial in node._inputs:
                adjoint[id(parent)] = adjoint.get(id(parent), 0.0) + adjoint[id(node)] * partial
                users[id(parent)] -= 1
                if users[id(parent)] == 0:
                    ready.append(parent)
        for node in done:
            node.grad = adjoint[id(node)] if node.grad is None else node.grad + adjoint[id(node)]"""

# Adjoints kept in a slot on each node, cleared at the start of every call.
_SLOT_BACKWARD = """        order = self._topological_order()
        for node in order:
            node._adjoint = 0.0
        self._adjoint = seed
        for node in order[::-1]:
            for parent, partial in node._inputs:
                parent._adjoint += partial * node._adjoint
        for node in order:
            if node.grad is None:
                node.grad = 0.0
            node.grad += node._adjoint"""

_KEY_VISITS = """    root = logistic_map(Node(0.3), n)
    Node.visits = 0
    backward_recursive(root)
    return Node.visits"""

_KEY_TOPOLOGICAL = """    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent, _ in node.inputs:
            if id(parent) not in seen:
                stack.append((parent, False))
    root.grad += grad
    for node in reversed(order):  # every child is done before its parents
        for parent, partial in node.inputs:
            parent.grad += node.grad * partial
    return len(order)"""

# A recursive depth-first sort (the task allows it for these graphs: at most a few hundred deep).
_RECURSIVE_TOPOLOGICAL = """    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent, _ in node.inputs:
                visit(parent)
            order.append(node)

    visit(root)
    root.grad = root.grad + grad
    for node in order[::-1]:
        for parent, partial in node.inputs:
            parent.grad = parent.grad + partial * node.grad
    return len(order)"""


_case = functools.partial(case, NOTEBOOK)


CORRECT = [
    _case("alt-kahn-backward", "reverse-diff", _KEY_BACKWARD, _KAHN_BACKWARD),
    _case("alt-adjoint-slots", "reverse-diff", _KEY_BACKWARD, _SLOT_BACKWARD),
    _case(
        "alt-ints-kept", "reverse-diff", "        self.value = float(value)\n", "        self.value = value\n"
    ),
    _case(
        "alt-power-rule-as-quotient",
        "reverse-diff",
        "(self, p * self.value ** (p - 1))",
        "(self, p * self.value**p / self.value)",
    ),
    _case(
        "alt-rsub-rtruediv-via-leaves",
        "reverse-diff",
        "        return self._result(_value(other) - self.value, (self, -1.0))",
        "        return -self + other",
    ),
    _case(
        "alt-vjps-einsum",
        "vjps",
        "    return G @ W.T, X.T @ G",
        "    return np.einsum('bm,nm->bn', G, W), np.einsum('bn,bm->nm', X, G)",
    ),
    _case(
        "alt-scale-vjp-vdot",
        "vjps",
        "    return float(np.sum(g * x)), alpha * g",
        "    return np.vdot(g, x), np.multiply(alpha, g)",
    ),
    _case(
        "alt-visits-reset-first",
        "visits-naive",
        _KEY_VISITS,
        "    Node.visits = 0\n    x = Node(0.3)\n"
        "    backward_recursive(logistic_map(x, n))\n    return int(Node.visits)",
    ),
    _case(
        "alt-visit-formula-rewritten",
        "visits-naive",
        "return 2 ** (n + 1) - 3",
        "return 4 * 2 ** (n - 1) - 3",
    ),
    _case("alt-topological-recursive", "topological", _KEY_TOPOLOGICAL, _RECURSIVE_TOPOLOGICAL),
]

# A mistake in one part, and the only test cells it may cost points in.
CASCADES = {
    _case("slip-cos-sign", "reverse-diff", "(self, -math.sin(self.value))", "(self, math.sin(self.value))"): {
        "test-elementary"
    },
    _case(
        "slip-grad-replaced",
        "reverse-diff",
        "node.grad = g if node.grad is None else node.grad + g",
        "node.grad = g",
    ): {"test-accumulate"},
    _case(
        "slip-neg",
        "reverse-diff",
        "return self._result(-self.value, (self, -1.0))",
        "return self._result(-self.value, (self, 1.0))",
    ): {"test-arithmetic"},
    _case(
        "slip-scale-vjp", "vjps", "return float(np.sum(g * x)), alpha * g", "return np.dot(g, x), alpha * g"
    ): {"test-vjp-add-scale"},
    _case("slip-visit-formula", "visits-naive", "return 2 ** (n + 1) - 3", "return 2**n - 1"): {
        "test-visit-formula"
    },
    _case("slip-topological-seed", "topological", "root.grad += grad", "root.grad += 1.0"): {
        "test-topological"
    },
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
