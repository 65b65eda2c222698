"""Shared helpers for the test modules; pytest's hooks and fixtures stay in ``tests/conftest.py``.

* :mod:`helpers.strategies`: hypothesis strategies, example counts and random directions;
* :mod:`helpers.reference`: tolerances and expected values computed independently of the code
  under test (five-point central differences, PyTorch in float64), and the comparison;
* :mod:`helpers.toycourse`: the toy nbgrader course (cells, course folder, submissions, scores)
  and the toy class with its hand-worked points;
* :mod:`helpers.pgserver`: a throwaway PostgreSQL server on loopback;
* :mod:`helpers.processes`: waiting, with a deadline, on the output of a process a test started,
  and stopping it for sure;
* :mod:`helpers.programs`: the lecture's example program;
* :mod:`helpers.slow`: the tests marked ``slow`` (left out of the inner loop), and why.

Test modules import them as ``from helpers.reference import ...``: pytest puts ``tests/`` on
``sys.path`` (the folder of the rootdir's ``conftest.py``). No name in these modules starts with
``test``, so pytest never collects an imported helper as a test.
"""
