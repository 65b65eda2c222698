"""Symbolic differentiation with SymPy, the derivative rules, and expression swell.

Symbolic differentiation applies the derivative rules (sum, product, chain, ...) to an
expression tree and returns a new expression tree. It is exact, but the result can be far larger
than the input: every product rule application copies both factors, so differentiating a
nested expression repeatedly duplicates sub-expressions. The classic illustration iterates the
logistic map

    l_1 = x,    l_{n+1} = r l_n (1 - l_n)    (r = 4 in the lecture),

for which the unsimplified derivative dl_n/dx grows exponentially in n, while forward-mode AD
computes the same derivative *value* with a fixed number of operations per iteration:

    primal:   t = 1 - l,   u = r l,   l' = u t                       3 operations
    tangent:  dt = -dl,    du = r dl, dl' = du t + u dt              5 operations

so AD needs 8 (n - 1) elementary operations for l_n and dl_n/dx, linear in n.
"""

from .derivatives import derivative, gradient, to_function
from .rules import Rule, rules_table, verify_rule
from .swell import (
    AD_PRIMAL_OPS_PER_STEP,
    AD_TANGENT_OPS_PER_STEP,
    SwellRow,
    SwellSizes,
    expression_size,
    logistic_map,
    logistic_map_factored,
    plot_swell,
    simplified_logistic_derivative,
    swell_sizes,
    swell_table,
)

__all__ = [
    "AD_PRIMAL_OPS_PER_STEP",
    "AD_TANGENT_OPS_PER_STEP",
    "Rule",
    "SwellRow",
    "SwellSizes",
    "derivative",
    "expression_size",
    "gradient",
    "logistic_map",
    "logistic_map_factored",
    "plot_swell",
    "rules_table",
    "simplified_logistic_derivative",
    "swell_sizes",
    "swell_table",
    "to_function",
    "verify_rule",
]
