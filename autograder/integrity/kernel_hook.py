"""The audit hook a student's kernel runs with: it reports what student code opens outside its folder.

This file's source is the start of the kernel's launcher (``python -c <this file> <call> <launch>``,
see :mod:`.monitor`), run before the kernel exists: it imports only the standard library, and
binds everything it needs in a closure at install time, so that student code reassigning
``os.write`` or ``json.dumps`` afterwards changes nothing.

It writes one JSON line per report (at most ``PIPE_BUF`` bytes, so a line is never split) to the
file descriptor ``fd``, a pipe whose other end the grader reads:

* ``{"e": "hello"}`` once, at install;
* ``{"e": "exec", "c": NAME}`` whenever the kernel starts running a cell, whose code IPython
  compiled under the file name ``<ipykernel folder>/NAME`` (the grader knows each cell's NAME);
* ``{"e": "open", "p": PATH, "m": MODE, "w": WRITE, "s": [[NAME, LINE], ...]}`` when code opens
  (or lists) ``PATH`` where it may not, while a cell's code is on the call stack (``s``: those
  cells' frames, innermost first); each place is reported once;
* ``{"e": "full"}`` once, when it stops reporting opens after :data:`MAX_REPORTS` of them.

Where code may open files, by the kind of folder (``roots``; the longest matching root counts):

* ``"work"`` (the submission's scratch folder): anything;
* ``"read"`` (Python, the virtual environment, shared packages, system folders): reading, and
  writing compiled bytecode (``__pycache__``);
* ``"tmp"`` (the kernel's private ``/tmp``): what exists there, new files in folders that exist,
  and the hidden folders libraries keep caches in (``/tmp/.matplotlib``); a path that exists only
  on the grader's machine (``/tmp/<grader's folder>/gradebook.db``) is an attempt to reach it.

Outside the scratch folder, a path under one of the ``deny`` prefixes, or under no root, is
always reported.
"""

MAX_REPORTS = 500


def install(fd, roots, deny):
    """Add the audit hook. ``roots``: ``[folder, kind]`` pairs (absolute, no trailing slash; kinds
    above); ``deny``: path prefixes that are outside even when under a root."""
    import json
    import os
    import sys
    import tempfile

    write, dumps, getframe = os.write, json.dumps, sys._getframe
    getcwd, join, realpath = os.getcwd, os.path.join, os.path.realpath
    lexists, dirname = os.path.lexists, os.path.dirname
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    fsdecode, isinstance_, str_, bytes_, pathlike = os.fsdecode, isinstance, str, bytes, os.PathLike
    cells = tempfile.gettempdir() + os.sep + "ipykernel_" + str(os.getpid()) + os.sep
    roots = tuple((str(path), str(kind)) for path, kind in roots)
    deny = tuple(deny)
    state = {"busy": False, "sent": set(), "full": False}
    limit = MAX_REPORTS

    def send(message):
        data = (dumps(message) + "\n").encode("utf-8", "replace")
        if len(data) <= 4000:
            write(fd, data)

    def kind_of(path):
        best, kind = "", None
        for root, root_kind in roots:
            if (path == root or path.startswith(root + "/")) and len(root) > len(best):
                best, kind = root, root_kind
        return best, kind

    def allowed(full, write):
        root, kind = kind_of(full)
        if kind == "work":
            return True
        for prefix in deny:
            if full.startswith(prefix):
                return False
        if kind == "read":
            return not write or "/__pycache__/" in full
        if kind == "tmp":
            if full[len(root) :].startswith("/."):  # a library's hidden cache folder
                return True
            return lexists(full) or (write and lexists(dirname(full)))
        return False

    def outside(path, write):
        if isinstance_(path, pathlike):
            path = path.__fspath__()
        if isinstance_(path, bytes_):
            path = fsdecode(path)
        if not isinstance_(path, str_):
            return None
        full = realpath(join(getcwd(), path))
        return None if allowed(full, write) else full

    def stack():
        frames, frame = [], getframe(2)
        while frame is not None and len(frames) < 8:
            name = frame.f_code.co_filename
            if name.startswith(cells):
                frames.append([name[len(cells) :], frame.f_lineno])
            frame = frame.f_back
        return frames

    def report(path, mode, write):
        full = outside(path, write)
        if full is None:
            return
        where = stack()
        if not where:
            return
        key = (full, where[0][0], where[0][1])
        if key in state["sent"]:
            return
        if len(state["sent"]) >= limit:
            if not state["full"]:
                state["full"] = True
                send({"e": "full"})
            return
        state["sent"].add(key)
        send({"e": "open", "p": full[:1000], "m": str_(mode)[:20], "w": write, "s": where})

    def hook(event, args):
        if state["busy"]:
            return
        state["busy"] = True
        try:
            if event == "exec":
                name = getattr(args[0], "co_filename", "")
                if isinstance_(name, str_) and name.startswith(cells):
                    send({"e": "exec", "c": name[len(cells) :]})
            elif event == "open":
                mode, flags = args[1], args[2]
                if isinstance_(mode, str_):
                    write = any(c in mode for c in "wax+")
                else:
                    write = bool(isinstance_(flags, int) and flags & writing)
                report(args[0], mode if mode is not None else flags, write)
            elif event in ("os.listdir", "os.scandir", "os.chdir"):
                report(args[0] if args[0] is not None else ".", event, False)
            elif event == "glob.glob":
                report(args[0], event, False)
        except Exception:  # a report must never break the student's code
            pass
        finally:
            state["busy"] = False

    sys.addaudithook(hook)
    send({"e": "hello"})
