"""The README's adlib example runs and prints what the README says it does."""

import math
import re

from autograder.paths import REPO_ROOT


def test_readme_example_runs_with_the_documented_values() -> None:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # the README's own example
    # Closed forms of ln x1 + x1 x2 - sin x2 at (2, 5): its partials are x2 + 1/x1 and x1 - cos x2.
    assert math.isclose(scope["x1"].grad, 5 + 1 / 2)
    assert math.isclose(scope["x2"].grad, 2 - math.cos(5))
    assert math.isclose(scope["y"].value, math.log(2) + 10 - math.sin(5))
    assert scope["passes"].forward == 3
    assert scope["J"].shape == (3, 3)
