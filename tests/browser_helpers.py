"""Driving a real JupyterLab in headless Chromium for the browser tests (tests/test_browser.py).

The browser is Debian's Chromium (``/usr/bin/chromium``, which ``.ci/run`` installs) driven by
Playwright for Python, never a browser Playwright downloads: the kit runs on closed networks. The
launch flags keep Chromium off the network (no background requests, component updates, sync or
QUIC) and every run gets a fresh profile.

:class:`Steps` names the steps of a scenario: a step that raises saves a screenshot named after
it and fails the test with the step's name; :meth:`Steps.shot` saves the screenshots a scenario
keeps on success. Both go to the test's output folder, ``out/browser/<test name>/``.

The notebook helpers act as a person does: menus, the toolbar, the cell editor, the keyboard.
No name here starts with ``test`` so that pytest does not collect an imported helper.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import BrowserContext, Locator, Page, Playwright

from autograder.lab import LabServer
from autograder.paths import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
)
#: Where each test keeps its screenshots: out/browser/<test name>/ (out/ is not in git).
OUT_ROOT = REPO_ROOT / "out" / "browser"
#: Playwright's wait for any one action or element, in ms: generous, the machine is loaded.
ACTION_TIMEOUT_MS = 90_000
#: The longest a lecture's Run All may take, in ms (they take 5-15 s here).
RUN_ALL_TIMEOUT_MS = 240_000
VIEWPORT = {"width": 1400, "height": 1000}


# ---------------------------------------------------------------- browser and output


def launch_browser(playwright: Playwright, profile: Path) -> BrowserContext:
    """Debian's Chromium, headless, offline-safe, with a fresh profile in ``profile``."""
    if not CHROMIUM.is_file():
        raise FileNotFoundError(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install -y chromium)"
        )
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=list(CHROMIUM_FLAGS),
        viewport=VIEWPORT,
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


def output_dir(test_name: str) -> Path:
    """A fresh ``out/browser/<test name>/`` (emptied if an earlier run left one)."""
    folder = OUT_ROOT / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


class StepFailed(AssertionError):
    """A named step of a browser scenario failed; its screenshot is in the test's output folder."""


class Steps:
    """Numbered, named steps of one scenario, with screenshots in ``out``."""

    def __init__(self, page: Page, out: Path, log: Path | None = None) -> None:
        self.page = page  # the page to photograph; a scenario may switch it
        self.out = out
        self.log = log  # the JupyterLab server's log, named in a failure
        self.count = 0

    def _file(self, name: str, prefix: str = "") -> Path:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
        return self.out / f"{prefix}{self.count:02d}-{slug}.png"

    def shot(self, name: str) -> Path:
        """Save a screenshot of the page as ``NN-name.png``; return its path."""
        path = self._file(name)
        self.page.screenshot(path=str(path))
        return path

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Run one step; on any exception save ``FAILED-NN-name.png`` and fail naming the step.

        The failure message gives the step's number and name, the screenshot's path, the server
        log's (when :attr:`log` is set) and the original error, which is also chained.
        """
        self.count += 1
        try:
            yield
        except Exception as exc:
            path = self._file(name, "FAILED-")
            try:
                self.page.screenshot(path=str(path))
                where = f"screenshot: {path}"
            except Exception as shot_error:  # the page itself may be gone
                where = f"no screenshot ({type(shot_error).__name__}: {shot_error})"
            if self.log is not None:
                where += f"; server log: {self.log}"
            raise StepFailed(
                f"step {self.count} {name!r} failed ({where}): {type(exc).__name__}: {exc}"
            ) from exc


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def read_when_written(path: Path) -> Any:
    """The notebook at ``path``, or None while the server is still writing it.

    Jupyter Server saves in place (its "atomic" writing keeps a backup copy, it does not write
    a temporary file and rename it), so a reader that races a save sees an empty or truncated
    file. Poll this with :func:`wait_until` instead of reading once.
    """
    try:
        return nbformat.read(path, as_version=4)
    except (nbformat.reader.NotJSONError, json.JSONDecodeError, UnicodeDecodeError, FileNotFoundError):
        return None


def api(server: LabServer, path: str, method: str = "GET") -> Any:
    """Call the server's REST API with the token; the decoded JSON (None for an empty body)."""
    request = urllib.request.Request(
        f"{server.url}{path}", method=method, headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def shutdown_kernels(server: LabServer) -> None:
    """Shut down every kernel session of the server (between lectures, to free memory)."""
    for session in api(server, "api/sessions"):
        api(server, f"api/sessions/{session['id']}", method="DELETE")


# ---------------------------------------------------------------- JupyterLab, as a person uses it

_ACTIVE_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
_KERNEL_IDLE_JS = (
    "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
    ".some(e => /\\| Idle$/.test(e.textContent.trim()))"
)
_RUN_FINISHED_JS = """() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!nb) return false;
  const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
  const idle = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
    .some(e => /\\| Idle$/.test(e.textContent.trim()));
  return idle && prompts.some(t => /^\\[\\d+\\]:$/.test(t)) && !prompts.includes('[*]:');
}"""


def open_notebook(page: Page, server: LabServer, path: str) -> Locator:
    """Open ``path`` (relative to the server root) in a fresh JupyterLab workspace; the notebook panel.

    Waits until the cells are on the page and the kernel is idle.
    """
    page.goto(server.url_for(f"lab/tree/{path}") + "&reset")  # reset: no tabs from an earlier visit
    panel = page.locator(_ACTIVE_NOTEBOOK)
    panel.locator(".jp-Notebook-cell").first.wait_for()
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=ACTION_TIMEOUT_MS)
    return panel


def menu(page: Page, top: str, item: str) -> None:
    """Click ``top`` in JupyterLab's menu bar, then ``item`` in that menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def cell_at(page: Page, index: int) -> Locator:
    """The cell at position ``index`` (0-based) of the active notebook."""
    return page.locator(f'{_ACTIVE_NOTEBOOK} .jp-Notebook-cell[data-windowed-list-index="{index}"]')


def cell_index(cells: Locator) -> int:
    """The position in the notebook of the one cell ``cells`` matches (it must match exactly one)."""
    index = cells.get_attribute("data-windowed-list-index")
    if index is None:
        raise AssertionError("the cell has no position in the notebook")
    return int(index)


def code_cell_containing(page: Page, text: str) -> Locator:
    """The one code cell of the active notebook whose source contains ``text``, by its position."""
    return cell_at(page, cell_index(page.locator(f"{_ACTIVE_NOTEBOOK} .jp-CodeCell", has_text=text)))


def answer_cell(page: Page) -> Locator:
    """The one rendered markdown cell that holds only the release's ``YOUR ANSWER HERE`` stub."""
    rendered = page.locator(".jp-RenderedMarkdown", has_text=re.compile(r"^\s*YOUR ANSWER HERE\s*$"))
    return cell_at(page, cell_index(page.locator(f"{_ACTIVE_NOTEBOOK} .jp-MarkdownCell", has=rendered)))


def replace_code(page: Page, cell: Locator, source: str) -> None:
    """Select everything in a code cell's editor and put ``source`` in its place.

    The text goes in as one text input (as a paste does): typing it key by key would let the
    editor's auto-indent and bracket closing change it.
    """
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")


def type_answer(page: Page, cell: Locator, text: str) -> None:
    """Open a markdown cell for editing, type ``text`` over its content key by key, render it."""
    cell.dblclick()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.keyboard.press("Control+Enter")


@dataclass(frozen=True)
class Validation:
    """What nbgrader's Validate dialog showed."""

    outcome: str  # nbgrader's class on the dialog body: validation-success, validation-failed, ...
    text: str  # the whole dialog body as the user reads it
    blocks: list[str]  # its ``pre`` blocks in order: for a failure, each failed cell's source, then its error

    def failures(self) -> list[tuple[str, str]]:
        """(source, error) of each failed cell."""
        return list(zip(self.blocks[0::2], self.blocks[1::2], strict=True))


def press_validate(page: Page) -> Validation:
    """Press nbgrader's Validate button in the notebook toolbar and read the result dialog."""
    page.locator(f"{_ACTIVE_NOTEBOOK} .validate-button").click()
    body = page.locator(".jp-Dialog .jp-Dialog-body")  # nbgrader's result node, with its class
    body.wait_for()
    classes = (body.get_attribute("class") or "").split()
    outcome = next((c for c in classes if c.startswith("validation-")), "no validation result")
    return Validation(outcome, body.inner_text(), body.locator("pre").all_inner_texts())


def bring_into_view(page: Page, target: Locator, attempts: int = 10) -> None:
    """Scroll ``target`` into the viewport and let the browser paint it (for a screenshot).

    JupyterLab sizes off-screen cells lazily (``content-visibility``), so the page can shift
    after a scroll: scroll again until the target stays in view.
    """
    height = (page.viewport_size or VIEWPORT)["height"]
    for _ in range(attempts):
        target.scroll_into_view_if_needed()
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        box = target.bounding_box()
        if box and box["y"] >= 0 and box["y"] + min(box["height"], height / 2) <= height:
            return
    raise AssertionError(f"could not scroll the element into view in {attempts} attempts (last box {box})")


def scroll_dialog_to(page: Page, block: int) -> None:
    """Scroll the dialog so that the end of its ``block``-th ``pre`` block shows (for a screenshot)."""
    page.locator(".jp-Dialog .jp-Dialog-body pre").nth(block).evaluate(
        "e => e.scrollIntoView({block: 'end'})"
    )


def close_dialog(page: Page) -> None:
    """Press the dialog's OK button and wait until it is gone."""
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def run_all(page: Page) -> None:
    """Run → Run All Cells, then wait until the kernel is idle with no cell queued or running."""
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(_RUN_FINISHED_JS, timeout=RUN_ALL_TIMEOUT_MS, polling=500)


def save_notebook(page: Page) -> None:
    """Press the active notebook's Save button."""
    page.locator(f'{_ACTIVE_NOTEBOOK} .jp-Toolbar-item[data-jp-item-name="save"]').click()


def rendering_facts(page: Page) -> dict[str, Any]:
    """What the active notebook shows: prompts, MathJax, raw TeX, tables and output images."""
    return page.evaluate(
        """() => {
      const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
      const textOutsideCode = (el) => {
        const copy = el.cloneNode(true);
        copy.querySelectorAll('code, pre, mjx-container').forEach(c => c.remove());
        return copy.textContent;
      };
      return {
        prompts: [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim()),
        math: nb.querySelectorAll('.jp-RenderedMarkdown mjx-container').length,
        math_errors: nb.querySelectorAll('mjx-merror').length,
        raw_tex: [...nb.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')]
          .map(textOutsideCode).filter(t => /\\$[^$\\s][^$]*\\$/.test(t)).map(t => t.slice(0, 200)),
        tables: nb.querySelectorAll('table').length,
        images: [...nb.querySelectorAll('.jp-OutputArea-output img')].map(i => i.naturalWidth),
      };
    }"""
    )
