"""``adcourse``: the instructor's whole loop around stock nbgrader in a few commands.

adcourse release NAME | --all       build the student versions
adcourse collect NAME PATH          take submissions from student folders or LMS zips
adcourse autograde NAME [--jobs N]  grade every submission in parallel, with a progress bar
                    [--cluster ADDR]  ... or on a Dask cluster
adcourse cluster                    a local Dask scheduler and workers, for a try-out
adcourse watch NAME [--once]        grade each submission as it arrives, with its feedback
adcourse feedback NAME              per-student HTML feedback
                    [--cluster ADDR]  ... made by a Dask cluster's workers
adcourse report NAME                grades.csv, report.md and a score histogram
adcourse export NAME --format canvas  grades for Canvas's gradebook import (or --format csv)
adcourse similarity NAME            pairs of alike submissions, side by side in HTML
adcourse check [NAME]               prove an assignment's tests right (key, blank, mistakes)
adcourse demo                       all of it on a simulated class, offline
adcourse slides [LECTURE ...]       the lectures as reveal.js decks that open offline (out/slides/)
adcourse lab [--port N] [--student] JupyterLab with nbgrader's extension on the course (localhost)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import slides
from .paths import REPO_ROOT, CourseError, assignment_dir, assignment_names, locate_course, source_root


def _course(args: argparse.Namespace) -> Path:
    """The course the command works on (see :func:`autograder.paths.locate_course`); a note on
    stderr says which one and why when it was not given with ``--course``."""
    found = locate_course(getattr(args, "course", None))
    if not found.explicit:
        print(f"adcourse: course {found.root} ({found.how})", file=sys.stderr, flush=True)
    return found.root


def _release(args: argparse.Namespace) -> int:
    from .release import Releaser

    course = _course(args)
    if args.all == bool(args.name):
        raise CourseError("name one assignment to release, or pass --all (not both)")
    names = _all_assignments(course) if args.all else [args.name]
    for name in names:
        assignment_dir(course, name)
    from .nbgrader_cli import NbgraderError

    releaser = Releaser(course)
    for name in names:
        folder = releaser.generate(name)
        try:
            releaser.publish(name)
        except NbgraderError as err:  # the student version is built; only the exchange is missing
            print(f"released {name}: {folder}")
            print(f"adcourse: warning: {name} is not in the exchange: {err}", file=sys.stderr)
            continue
        print(f"released {name}: {folder} (and to the course's exchange, for students' Assignments list)")
    return 0


def _all_assignments(course: Path) -> list[str]:
    """Every assignment of the course; a clear error when there is none."""
    names = assignment_names(course)
    if not names:
        raise CourseError(f"the course {course} has no assignments in {source_root(course)}")
    return names


def _number(text: str, convert: type, noun: str, in_range: Callable[[Any], bool], requirement: str) -> Any:
    """``text`` as a number of type ``convert`` within range, or argparse's error naming what was expected."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
    if not in_range(value):
        raise argparse.ArgumentTypeError(f"expected {requirement}, got {text}")
    return value


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    return _number(text, int, "a whole number", lambda v: v >= 1, "at least 1")


def _positive_float(text: str) -> float:
    """An argparse type: a number of seconds greater than 0 (and finite)."""
    return _number(text, float, "a number", lambda v: 0 < v < float("inf"), "a positive number")


def _fraction(text: str) -> float:
    """An argparse type: a number greater than 0 and at most 1."""
    return _number(text, float, "a number", lambda v: 0 < v <= 1, "a number in (0, 1]")


def _port(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535."""
    return _number(text, int, "a port number", lambda v: 0 <= v <= 65535, "a port from 0 to 65535")


def _collect(args: argparse.Namespace) -> int:
    from .collect import collect

    course = _course(args)
    report = collect(course, args.name, Path(args.path), pattern=args.pattern)
    print(report.summary())
    return 0


def _regrade_reasons(course: Path, name: str, submissions: list) -> dict[str, str]:
    """Why each already-graded submission is graded again: ``{student: reason}`` (new ones absent)."""
    from .engine.status import read_status

    reasons = {}
    for sub in submissions:
        before = read_status(course, name, sub.student)
        if before is None:
            continue
        was = f"{before.score:g}/{before.max_score:g}, {before.status}"
        if not before.fingerprint:
            reasons[sub.student] = f"graded before ({was}); which files that grade was of is not recorded"
        elif before.fingerprint != sub.fingerprint:
            reasons[sub.student] = f"re-submitted since it was graded ({was})"
        else:
            reasons[sub.student] = f"unchanged since it was graded ({was}); graded again as asked"
    return reasons


def _autograde(args: argparse.Namespace) -> int:
    from collections import Counter

    from tqdm import tqdm

    from .engine import autograde
    from .engine.submission import find_submissions

    course = _course(args)
    assignment_dir(course, args.name)
    submissions = find_submissions(course, args.name, args.student)
    if not submissions:  # before the progress bar, so the error is all the user sees
        raise CourseError(f"no submissions of {args.name} in {course / 'submitted'}")
    reasons = _regrade_reasons(course, args.name, submissions)
    if reasons:
        print(f"re-grading {len(reasons)} submission(s) graded before:")
        for student, reason in sorted(reasons.items()):
            print(f"  {student}: {reason}")
    with tqdm(
        total=len(submissions), desc=f"autograde {args.name}", unit="submission", file=sys.stderr
    ) as bar:

        def tick(status) -> None:
            points = f"{status.score:g}/{status.max_score:g}"
            line = f"  {status.student}: {points} autograded points, {status.status}"
            bar.write(line, file=sys.stdout)
            bar.update(1)
            bar.set_postfix_str(f"{status.student}: {status.status}")

        run = autograde(
            course,
            args.name,
            jobs=args.jobs,
            students=args.student,
            on_graded=tick,
            cluster=args.cluster,
            feedback=args.feedback,
        )
    n, secs = len(run.statuses), run.seconds
    where = f" on the Dask cluster at {run.cluster}" if run.cluster else ""
    print(f"graded {n} submissions of {args.name} in {secs:.1f} s with {run.jobs} workers{where}")
    if args.feedback:
        print(
            f"feedback: {len(run.fed_back)} page(s) made by the workers in {course / 'feedback'}/; "
            f"`adcourse feedback {args.name}` writes any other"
        )
        for student, why in list(run.pages_failed.items())[:5]:
            print(f"  {student}: the worker could not make the page: {why}")
    if run.statuses:
        mean = sum(s.score for s in run.statuses) / n
        top = max(s.max_score for s in run.statuses)
        counts = Counter(s.status for s in run.statuses)
        kinds = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        fresh = n - len(reasons)
        print(
            f"summary: mean {mean:.1f} of {top:g} autograded points; {kinds}; "
            f"{fresh} new, {len(reasons)} re-graded"
        )
    for status in run.ungradable:
        print(f"  {status.student}: {status.status} ({status.detail})")
    flagged = [s for s in run.statuses if s.flags]
    if flagged:
        print(f"integrity flags on {len(flagged)} submission(s) (no grade changed; see report.md):")
        for status in flagged:
            for flag in status.flags:
                print(f"  {status.student}: {flag.kind}: {flag.what} ({flag.where})")
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from .engine.cluster import local_cluster, wait_forever

    with local_cluster(args.workers, args.port, host=args.host) as cluster:
        print(f"Dask scheduler at {cluster.scheduler_address} with {args.workers} workers", flush=True)
        print(f"grade on it: adcourse autograde NAME --cluster {cluster.scheduler_address}", flush=True)
        print("Ctrl-C stops it", flush=True)
        wait_forever(cluster)
    return 0


def _watch(args: argparse.Namespace) -> int:
    from .watch import Watcher

    course = _course(args)

    def log(message: str) -> None:
        print(f"adcourse watch: {message}", file=sys.stderr, flush=True)

    watcher = Watcher(
        course,
        args.name,
        jobs=args.jobs,
        batch=args.batch,
        max_attempts=args.max_attempts,
        on_outcome=lambda outcome: print(outcome.line(), flush=True),
        log=log,
    )
    every = "one round" if args.once else f"every {args.interval:g} s; Ctrl-C stops"
    log(f"grading new submissions of {args.name} in {course / 'submitted'} ({every})")
    try:
        watcher.run(args.interval, once=args.once)
    except KeyboardInterrupt:
        log("interrupted: the submissions being graded are graded again on the next start")
        return 130
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from .class_feedback import write_class_feedback

    course = _course(args)
    assignment_dir(course, args.name)
    students = [args.student] if args.student else None
    from .engine.backends import default_jobs

    jobs = args.jobs or default_jobs()
    done = write_class_feedback(
        course, args.name, students, progress=True, jobs=jobs, force=args.force, cluster=args.cluster
    )
    if not done.written and not done.failed and not done.current:
        raise CourseError(
            f"no autograded submission of {args.name}"
            + (f" by {args.student}" if args.student else "")
            + ": run `adcourse autograde` first."
        )
    print(
        f"feedback for {args.name}: {len(done.written)} student(s) in "
        f"{course / 'feedback'}/<student>/{args.name}/"
        + (f"; {len(done.current)} already up to date (--force writes them again)" if done.current else "")
    )
    if done.by_workers or done.remade:
        print(f"  {len(done.by_workers)} made by the cluster's workers, {len(done.remade)} here instead:")
        for student, why in list(done.remade.items())[:10]:
            print(f"  {student}: {why}")
    for student in done.without:
        print(f"  {student}: no autograded notebook, no feedback")
    for student, error in done.failed.items():
        print(f"  {student}: FAILED: {error}", file=sys.stderr)
    return 1 if done.failed else 0


def _report(args: argparse.Namespace) -> int:
    from .report import build_report

    course = _course(args)
    assignment_dir(course, args.name)
    report = build_report(course, args.name, Path(args.out) if args.out else None)
    print(report.summary())
    return 0


def _export(args: argparse.Namespace) -> int:
    from .export import export_grades

    course = _course(args)
    assignment_dir(course, args.name)
    roster = Path(args.roster) if args.roster else None
    path, done = export_grades(
        course, args.name, args.format, Path(args.out) if args.out else None, roster, args.column
    )
    print(f"{args.format} export of {args.name}: {done.rows} student(s) in {path}")
    if done.unmatched_roster:
        print(f"  {len(done.unmatched_roster)} roster student(s) with no nbgrader grade (left empty):")
        print("    " + ", ".join(done.unmatched_roster))
    if done.not_in_roster:
        print(f"  {len(done.not_in_roster)} nbgrader student(s) not in the roster (not exported):")
        print("    " + ", ".join(done.not_in_roster))
    return 0


def _similarity(args: argparse.Namespace) -> int:
    from .similarity import similarity_report, write_html

    course = _course(args)
    assignment_dir(course, args.name)
    report = similarity_report(course, args.name, threshold=args.threshold)
    page = write_html(
        report, Path(args.out) if args.out else course / "reports" / args.name / "similarity.html"
    )
    print(report.summary())
    print(f"side by side: {page}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .check import check_assignment

    course = _course(args)
    names = [args.name] if args.name else _all_assignments(course)
    failed = 0
    for name in names:
        assignment_dir(course, name)
        result = check_assignment(name, course, compare_stock=args.stock)
        print(result.summary())
        failed += not result.ok
    return 1 if failed else 0


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _adcourse_command() -> str:
    """How the user can run adcourse again: ``adcourse`` when it is on PATH, else this script's path."""
    import shutil

    script = Path(sys.argv[0])
    if script.name != "adcourse" or shutil.which("adcourse") == str(script.resolve()):
        return "adcourse"
    return _shown(script) if "/" in sys.argv[0] else "adcourse"


def _demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .demo import STUDENTS, run_demo
    from .paths import KIT_COURSE

    names = args.assignments.split(",") if args.assignments else assignment_names(KIT_COURSE)
    for name in names:
        assignment_dir(KIT_COURSE, name)
    started = time.perf_counter()
    with tqdm(total=len(names) * len(STUDENTS), desc="demo", unit="submission", file=sys.stderr) as bar:

        def say(message: str) -> None:
            bar.write(f"[{time.perf_counter() - started:5.0f} s] {message}", file=sys.stdout)
            sys.stdout.flush()

        def graded(status) -> None:
            bar.update(1)
            bar.set_postfix_str(f"{status.assignment} {status.student}: {status.status}")

        result = run_demo(
            Path(args.out), names, jobs=args.jobs, cell_timeout=args.cell_timeout, say=say, on_graded=graded
        )
    seconds = time.perf_counter() - started
    phases = ", ".join(f"{phase} {secs:.0f} s" for phase, secs in result.seconds.items())
    print(f"\nThe demo class, graded in {seconds:.0f} s ({phases}):\n")
    print(result.table())
    course = _shown(result.course)
    first = names[0]
    print(
        f"""
What next
  the formgrader on this class:  {_adcourse_command()} lab --course {course}
                                 (then Nbgrader > Formgrader in JupyterLab's menu; Ctrl+C stops it)
  a report:                      {course}/reports/{first}/report.md (grades.csv, histogram.png)
  a student's feedback:          {course}/feedback/emmy/{first}/
  alike submissions:             {_adcourse_command()} similarity {first} --course {course}
  grades for the LMS:            {_adcourse_command()} export {first} --format canvas --course {course}"""
    )
    return 0


def _lab(args: argparse.Namespace) -> int:
    from .lab import LabError, serve, start_lab
    from .release import ensure_exchange

    course = _course(args)
    if not args.student:
        exchange, created = ensure_exchange(course)  # else the formgrader warns it is missing
        if created:
            print(f"adcourse: created the course's exchange folder {exchange}", file=sys.stderr)
    root = Path(args.root) if args.root else None
    try:
        server = start_lab(course, root, port=args.port, student=args.student)
    except LabError as exc:
        print(f"adcourse: error: {exc}", file=sys.stderr)
        return 1
    print(f"\nJupyterLab on {server.root}: {server.url_for('lab')}", flush=True)
    if args.student:
        print(
            "A student's JupyterLab: Nbgrader > Assignment List in the menu (fetch, work, submit); "
            "Validate in each notebook's toolbar. Ctrl+C stops the server.",
            flush=True,
        )
    else:
        print("Formgrader: Nbgrader > Formgrader in JupyterLab's menu. Ctrl+C stops the server.", flush=True)

    def stopping(signal_name: str) -> None:
        print(f"adcourse lab: {signal_name}: stopping JupyterLab and its kernels", file=sys.stderr)
        sys.stderr.flush()

    code = serve(server, on_stop=stopping)
    if code:
        print(f"adcourse: error: JupyterLab exited with code {code}", file=sys.stderr)
        return 1
    return 0


def _slides(args: argparse.Namespace) -> int:
    slides.build_decks(Path(args.out), args.lectures)
    return 0


COURSE_HELP = (
    "the nbgrader course folder (default: the current folder or a parent holding nbgrader_config.py, "
    "else $ADCOURSE_ROOT, else the kit's course/)"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with --help on every subcommand."""
    parser = argparse.ArgumentParser(
        prog="adcourse", description="The AD course kit's instructor tools, around stock nbgrader."
    )
    parser.add_argument("--course", help=COURSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A subcommand's parser; ``--course`` may also come after the subcommand's name."""
        p = sub.add_parser(name, **kwargs)
        p.add_argument("--course", default=argparse.SUPPRESS, help=COURSE_HELP)
        return p

    p = command("release", help="build the student version of an assignment (or --all)")
    p.add_argument("name", nargs="?", help="the assignment")
    p.add_argument("--all", action="store_true", help="release every assignment")
    p.set_defaults(func=_release)

    p = command("collect", help="take submissions from student folders or LMS zip downloads")
    p.add_argument("name", help="the assignment")
    p.add_argument("path", help="a folder of student folders, a folder of zips/files, or one zip")
    p.add_argument(
        "--pattern",
        help="'canvas' for Canvas's downloads (smithhank_12345_67890_forward_mode.ipynb), or a regex "
        "for LMS file names with the named groups student_id and file_id (and optional timestamp)",
    )
    p.set_defaults(func=_collect)

    p = command("autograde", help="grade every submission, in parallel, with a progress bar")
    p.add_argument("name", help="the assignment")
    p.add_argument("--jobs", type=_positive_int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument(
        "--cluster",
        metavar="tcp://HOST:PORT",
        help="grade on this Dask scheduler's workers (default: c.AdCourse.cluster in the course config)",
    )
    p.add_argument(
        "--feedback",
        action="store_true",
        help="the workers also make each student's feedback page, with the grade",
    )
    p.set_defaults(func=_autograde)

    p = command("cluster", help="start a local Dask scheduler and workers to grade on (a try-out)")
    p.add_argument("--workers", type=_positive_int, default=2, help="worker processes (default: 2)")
    p.add_argument("--port", type=_port, default=8786, help="scheduler port (default: 8786; 0: any free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1 only)")
    p.set_defaults(func=_cluster)

    p = command("watch", help="grade each new or re-submitted notebook as it arrives, with feedback")
    p.add_argument("name", help="the assignment")
    p.add_argument(
        "--interval", type=_positive_float, default=10.0, help="seconds between rounds (default: 10)"
    )
    p.add_argument("--once", action="store_true", help="one round, then exit")
    p.add_argument("--jobs", type=_positive_int, default=None, help="worker processes (default: all cores)")
    p.add_argument(
        "--batch",
        type=_positive_int,
        default=None,
        help="submissions graded per batch; a stop waits for the batch (default: 4 per worker)",
    )
    p.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=3,
        help="tries before a failing grading is given up (default: 3)",
    )
    p.set_defaults(func=_watch)

    p = command("feedback", help="write per-student HTML feedback")
    p.add_argument("name", help="the assignment")
    p.add_argument("--student", help="only this student (default: everyone autograded)")
    p.add_argument("--jobs", type=_positive_int, default=None, help="worker processes (default: all cores)")
    p.add_argument(
        "--force", action="store_true", help="write every page again, also those already up to date"
    )
    p.add_argument(
        "--cluster",
        metavar="ADDR",
        help="make the pages on this Dask scheduler's workers (default: c.AdCourse.cluster in the config)",
    )
    p.set_defaults(func=_feedback)

    p = command("report", help="grades as CSV, a report and a score histogram")
    p.add_argument("name", help="the assignment")
    p.add_argument("--out", help="output folder (default: COURSE/reports/NAME)")
    p.set_defaults(func=_report)

    p = command("export", help="grades for an LMS: Canvas's gradebook import file, or a plain CSV")
    p.add_argument("name", help="the assignment")
    p.add_argument(
        "--format", choices=("canvas", "csv"), default="canvas", help="file format (default: canvas)"
    )
    p.add_argument("--roster", help="Canvas's gradebook export of the course: its students, order and column")
    p.add_argument(
        "--column", help="the Canvas column, e.g. 'Forward mode (12345)' (default: from the roster)"
    )
    p.add_argument("--out", help="output file (default: COURSE/exports/NAME-FORMAT.csv)")
    p.set_defaults(func=_export)

    p = command(
        "similarity", help="pairs of submissions whose code is alike, and likeness to the key and adlib"
    )
    p.add_argument("name", help="the assignment")
    p.add_argument(
        "--threshold",
        type=_fraction,
        default=0.6,
        help="least similarity of a reported pair, 0 to 1 (default: 0.6)",
    )
    p.add_argument("--out", help="the HTML page (default: COURSE/reports/NAME/similarity.html)")
    p.set_defaults(func=_similarity)

    p = command("check", help="prove an assignment's tests right: key full, blank 0, mistakes caught")
    p.add_argument("name", nargs="?", help="the assignment (default: all)")
    p.add_argument(
        "--stock", action="store_true", help="also grade every submission with stock nbgrader and compare"
    )
    p.set_defaults(func=_check)

    p = command("demo", help="release, simulate a class, autograde, feedback and report, offline")
    p.add_argument("--out", default=str(REPO_ROOT / "out" / "demo"), help="work folder (default: out/demo)")
    p.add_argument("--assignments", help="comma-separated subset (default: all)")
    p.add_argument("--jobs", type=_positive_int, default=None, help="worker processes (default: all cores)")
    p.add_argument(
        "--cell-timeout",
        type=_positive_int,
        default=15,
        help="seconds a cell may run before it is a timeout, as emmy's endless loop is (default 15)",
    )
    p.set_defaults(func=_demo)

    p = sub.add_parser("slides", help="execute lectures and write them as offline reveal.js decks")
    slides.add_arguments(p)
    p.set_defaults(func=_slides)

    p = command("lab", help="JupyterLab with nbgrader's extension on the course, localhost, a token")
    p.add_argument("--port", type=_port, default=8888, help="port (default 8888 or the next free; 0: any)")
    p.add_argument(
        "--root",
        help="the folder JupyterLab shows (default: the course's parent; --student: student/ beside it)",
    )
    p.add_argument(
        "--student",
        action="store_true",
        help="a student's JupyterLab: the assignment list and Validate, no formgrader or Create Assignment",
    )
    p.set_defaults(func=_lab)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``adcourse`` console script."""
    from .nbgrader_cli import NbgraderError, ensure_scripts_on_path

    args = build_parser().parse_args(argv)
    ensure_scripts_on_path()
    try:
        return args.func(args)
    except (CourseError, NbgraderError, ValueError, FileNotFoundError) as exc:
        print(f"adcourse: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
