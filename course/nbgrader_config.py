"""nbgrader configuration of the AD course.

Run stock nbgrader from this folder (``cd course && nbgrader generate_assignment NAME``); the
source notebooks live in ``../assignments/NAME/`` and everything nbgrader generates (release/,
submitted/, autograded/, feedback/, gradebook.db, exchange/) stays here and out of git.
"""

import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "ad-course"
c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = os.path.join("..", "assignments")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
c.Exchange.root = os.path.join(HERE, "exchange")

# Every student notebook starts with the course header (name, collaborators, honour code).
c.IncludeHeaderFooter.header = os.path.join(HERE, "header.ipynb")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Files of a source folder that never reach students: nbgrader's defaults, plus the grading limits,
# the kernel's import policy and each assignment's requirements table (assignments/NAME/limits.toml,
# integrity.toml and requirements.toml, read by adcourse).
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "limits.toml",
    "integrity.toml",
    "requirements.toml",
]

# A cell that runs longer than this is stopped and the notebook graded as far as it got.
c.ExecutePreprocessor.timeout = 120
c.Execute.interrupt_on_timeout = True

# Students' feedback shows every test's verdict, points and message, and never a hidden test's code
# (nor what student code printed while one ran). For stock nbgrader's feedback, which shows
# everything: c.HideHiddenTests.enabled = False
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "autograder.hidden.HideHiddenTests",
]
