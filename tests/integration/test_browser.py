"""The course as a learner meets it: JupyterLab and the HTML copy in a real (headless) Chromium.

nbval never renders anything, so a broken widget stack ("Error displaying widget") would keep it
green. These tests start `jupyter lab` on a free localhost port with a token and the course's
quiet settings (lab_settings/overrides.json: no "official Jupyter news?" toast), open copies of
notebooks whose outputs were cleared (so everything checked was produced by this run), run all
cells through the menus, and check what is on the screen; they drive the live temperature lab
(kd_helpers.classroom.lab) in a small notebook; and they open the HTML copy of the course
(tools/render_html.py) and check that its figures load.

When a test fails, the message names a screenshot of the page at that moment and ends with the
tail of the JupyterLab log. Screenshots land in pytest's temporary folder (run with
`--basetemp=DIR` to choose it).

Skipped when no Chromium is found, unless KD_REQUIRE_BROWSER=1 (CI sets it), which makes a
missing browser a failure. KD_CHROMIUM may name the browser binary.
"""
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
LAB_SETTINGS = ROOT / "lab_settings"  # overrides.json: the course's JupyterLab defaults (no news toast)
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
QUICK_05 = """
# the browser test's quick settings: small sweeps, so that the run takes about half a minute
EPOCHS, SEED_RECIPE_EPOCHS, SWEEP_SEEDS, SWEEP_TEMPERATURES = 1, 1, [0], [1, 20]
SWEEP_ALPHAS, SMALL_EPOCHS, SMALL_TEMPERATURES, SMALL_SEEDS = [0.1, 0.9], 20, [20], [0]
"""
# A small notebook that builds the live temperature lab on 2,000 MNIST images: a press takes a second.
LAB_NOTEBOOK_CELLS = [
    """from kd_helpers import MNISTSplits, load_mnist, predict_logits, train_student
from kd_helpers.classroom.lab import TemperatureLab

full = load_mnist()
data = MNISTSplits(full.train_x[:2000], full.train_y[:2000], full.val_x[:500], full.val_y[:500],
                   full.test_x[:10], full.test_y[:10])
teacher, _ = train_student(data.train_x, data.train_y, hidden=(200,), epochs=2)  # a quick stand-in teacher
teacher_logits = predict_logits(teacher, data.train_x)""",
    "lab = TemperatureLab(data, teacher_logits, seeds=(0, 1), epochs=2)\nlab",
]


def find_chromium():
    candidates = [os.environ.get("KD_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]
    for name in filter(None, candidates):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        message = "no Chromium found (install Debian's chromium package, or set KD_CHROMIUM)"
        if os.environ.get("KD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"KD_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cleared_copy(source, target):
    """The notebook without outputs, execution counts or stored widget state: whatever the test
    then sees on the page, this run produced."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, target)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """jupyter lab on cleared copies of the notebooks (autosave never touches the committed ones)."""
    root = tmp_path_factory.mktemp("lab")
    for name in ("01_softmax_vs_log_softmax.ipynb", "05_distillation.ipynb"):
        cleared_copy(NOTEBOOKS / name, root / name)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in LAB_NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "lab_widget.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    log_path = root / "jupyter.log"
    log = open(log_path, "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.app_settings_dir={LAB_SETTINGS}"]  # the class command's settings (README)
        + (["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "KD_PROGRESS": "1"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail(f"jupyter lab did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.5)
    yield {"base": base, "token": token, "root": root, "log": log_path}
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, lab):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield page
    page.close()


@contextlib.contextmanager
def explained(page, tmp_path, what, log=None):
    """Turn any failure inside into one that says where to look: a screenshot of the page as it
    was, and the tail of the JupyterLab log."""
    try:
        yield
    except Exception as err:
        shot = tmp_path / f"FAILED_{what}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            where = f"screenshot of the page: {shot}"
        except Exception as shot_err:  # the page itself may be gone
            where = f"no screenshot ({type(shot_err).__name__}: {shot_err})"
        tail = ""
        if log is not None and Path(log).exists():
            tail = "\n--- tail of the JupyterLab log ---\n" + Path(log).read_text(errors="replace")[-3000:]
        raise AssertionError(f"{what}: {type(err).__name__}: {err}\n{where}{tail}") from err


def open_notebook(page, lab, name):
    workspace = name.split("_")[0]  # a fresh workspace per notebook: only this notebook is open
    page.goto(f"{lab['base']}/lab/workspaces/nb{workspace}/tree/{name}?reset&token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", timeout=60_000)
    wait_until(page, "idle", timeout=60)


# The visible notebook's state: the kernel's status, and the code cells' input prompts.
NOTEBOOK_STATE = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    if (!panel) return null;
    const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
    return {status: ind ? ind.getAttribute('data-status') : null, prompts};
}"""


def wait_until(page, what, timeout):
    """what="idle": the kernel is idle and no cell is queued or running ([*]).
    what="ran": that, and at least one cell has run (its prompt shows a number): the end of a
    run-all on a notebook whose counts were cleared, however long the kernel took to start it.
    The state must hold on two polls in a row, a second apart (no flicker between cells)."""
    deadline, held, state = time.time() + timeout, 0, None
    while time.time() < deadline:
        state = page.evaluate(NOTEBOOK_STATE)
        done = (state is not None and state["status"] == "idle" and not any("*" in p for p in state["prompts"])
                and (what == "idle" or any(any(ch.isdigit() for ch in p) for p in state["prompts"])))
        held = held + 1 if done else 0
        if held >= 2:
            return state
        time.sleep(1)
    raise AssertionError(f"the notebook did not become '{what}' within {timeout} s; last state: {state}")


def run_all(page, timeout):
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    wait_until(page, "ran", timeout)


def save_and_read(page, lab, name, timeout=30):
    """Save through the UI and return the saved notebook, once the file on disk is the new one
    (its modification time changed and the tab is no longer marked dirty), not after a guess."""
    path = lab["root"] / name
    before = path.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    deadline = time.time() + timeout
    while time.time() < deadline:
        dirty = page.locator(".jp-mod-current.jp-mod-dirty, .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").count()
        if path.stat().st_mtime_ns != before and not dirty:
            return json.loads(path.read_text())
        time.sleep(0.5)
    raise AssertionError(f"{name} was not saved within {timeout} s")


def error_outputs(nb):
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def check_run_all(page, lab, name):
    """After a run-all: no error output, every code cell ran, no widget fell back to text."""
    saved = save_and_read(page, lab, name)
    assert not error_outputs(saved), error_outputs(saved)
    not_run = [i for i, c in enumerate(saved["cells"]) if c["cell_type"] == "code" and c["execution_count"] is None]
    assert not not_run, f"code cells {not_run} did not run"
    # textContent, not innerText: JupyterLab skips rendering off-screen cells (content-visibility),
    # and innerText of a skipped cell is empty
    text = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.text_content()
    assert "Error displaying widget" not in text
    assert "VBox(children=" not in text, "a widget fell back to its text representation"
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0
    return saved


def assert_no_news_toast(page, tmp_path):
    """The class setting (lab_settings/overrides.json) silences JupyterLab's news question."""
    page.screenshot(path=str(tmp_path / "no_news_toast.png"))
    assert page.get_by_text("official Jupyter news").count() == 0, "the 'official Jupyter news?' toast is shown"


def test_notebook_01_slider_renders_and_updates(page, lab, tmp_path):
    name = "01_softmax_vs_log_softmax.ipynb"
    with explained(page, tmp_path, "notebook 01", lab["log"]):
        open_notebook(page, lab, name)
        run_all(page, timeout=120)
        page.screenshot(path=str(tmp_path / "01_after_run_all.png"), full_page=True)
        check_run_all(page, lab, name)
        assert_no_news_toast(page, tmp_path)

        slider = page.locator(".widget-slider").first
        slider.wait_for(state="visible", timeout=30_000)
        chart = page.locator(".jupyter-widgets img").first
        chart.wait_for(state="visible", timeout=30_000)
        page.wait_for_function("() => document.querySelector('.widget-readout').textContent.trim() !== ''",
                               timeout=30_000)  # the view has drawn its value: read it, then change it
        before_src, before_value = chart.get_attribute("src"), page.locator(".widget-readout").first.text_content()
        slider.scroll_into_view_if_needed()
        readout = page.locator(".widget-readout").first  # type a temperature into the slider's readout
        readout.click()
        page.keyboard.press("Control+a")
        page.keyboard.type("10")
        page.keyboard.press("Enter")
        page.wait_for_function("(src) => document.querySelector('.jupyter-widgets img').src !== src",
                               arg=before_src, timeout=30_000)
        after_value = page.locator(".widget-readout").first.text_content()
        assert after_value != before_value, "the slider's temperature did not change"
        chart.screenshot(path=str(tmp_path / "01_slider_moved.png"))
        page.screenshot(path=str(tmp_path / "01_slider_moved_page.png"), full_page=True)
    print(f"screenshots in {tmp_path}; T moved from {before_value} to {after_value}")


def test_live_temperature_lab_presses_and_redraws(page, lab, tmp_path):
    name = "lab_widget.ipynb"
    with explained(page, tmp_path, "temperature lab", lab["log"]):
        open_notebook(page, lab, name)
        run_all(page, timeout=120)
        check_run_all(page, lab, name)
        box = page.locator(".jupyter-widgets.widget-vbox").first
        button = box.locator("button", has_text="distil")
        button.wait_for(state="visible", timeout=30_000)
        image = box.locator("img").first
        before_src = image.get_attribute("src")
        readout = box.locator(".widget-readout").first  # the T slider: type a temperature into its readout
        readout.click()
        page.keyboard.press("Control+a")
        page.keyboard.type("2")
        page.keyboard.press("Enter")
        page.wait_for_function("(el) => parseFloat(el.textContent) === 2", arg=readout.element_handle(), timeout=10_000)
        button.click()
        page.wait_for_function("([img, src]) => img.src !== src", arg=[image.element_handle(), before_src],
                               timeout=60_000)
        verdict = box.locator(".widget-html", has_text="vs scratch")
        verdict.wait_for(state="visible", timeout=30_000)
        text = verdict.text_content()
        assert "T=2" in text and "seeds" in text, text
        assert "Error" not in box.text_content()
        wait_until(page, "idle", timeout=60)
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                            has_text="Traceback").count() == 0
        page.screenshot(path=str(tmp_path / "lab_after_press.png"), full_page=True)
    print(f"screenshots in {tmp_path}; verdict: {text}")


def test_notebook_05_rerun_at_another_temperature(page, lab, tmp_path):
    name = "05_distillation.ipynb"
    with explained(page, tmp_path, "notebook 05", lab["log"]):
        open_notebook(page, lab, name)
        cell = page.locator(".jp-Cell", has_text="TEMPERATURE = 10.0").first
        editor = cell.locator(".cm-content").first
        editor.click()
        page.keyboard.press("Control+a")
        source = json.loads((lab["root"] / name).read_text())
        settings = next(c for c in source["cells"] if "parameters" in c["metadata"].get("tags", []))
        new_text = "".join(settings["source"]).replace("TEMPERATURE = 10.0", "TEMPERATURE = 4.0") + QUICK_05
        page.keyboard.insert_text(new_text)
        run_all(page, timeout=240)
        page.screenshot(path=str(tmp_path / "05_after_run_all.png"), full_page=False)
        saved = check_run_all(page, lab, name)
        outputs = "".join("".join(o.get("text", "")) for c in saved["cells"] if c["cell_type"] == "code"
                          for o in c.get("outputs", []))
        assert "student 20-20, distilled T=4" in outputs


def test_html_copy_index_links_to_notebooks_with_figures(browser, tmp_path):
    """tools/render_html.py writes a readable copy; a reader opens the index, follows a link, and
    sees the figures (embedded PNGs that decode: naturalWidth > 0). Nothing leaves the machine:
    requests to the internet (MathJax, require.js) are refused, as offline."""
    from render_html import render  # tools/ is on pytest's pythonpath (pyproject.toml)

    out = tmp_path / "html"
    entries = render(out)
    # follow the link to the first notebook whose stored run has figures (01, once it is executed)
    sources = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert [name for name, _ in entries] == [p.stem + ".html" for p in sources], "index not in course order"
    with_figures = [(name, title) for path, (name, title) in zip(sources, entries)
                    if any("image/png" in o.get("data", {}) for c in nbformat.read(path, as_version=4).cells
                           if c.cell_type == "code" for o in c.outputs)]
    assert with_figures, "no notebook has a stored figure: execute the notebooks first"
    name, title = with_figures[0]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.route("http*://**", lambda route: route.abort())
    with explained(page, tmp_path, "HTML copy"):
        page.goto((out / "index.html").as_uri(), wait_until="domcontentloaded")
        links = page.locator("ol li a")
        assert links.count() == len(entries)
        assert links.first.inner_text() == entries[0][1] and entries[0][1].startswith("01")
        page.locator("ol li a", has_text=title).first.click()
        page.wait_for_load_state("domcontentloaded")
        assert page.url.endswith(name)
        figures = page.locator(".jp-RenderedImage img")
        assert figures.count() >= 1, "no figure in the rendered notebook"
        page.wait_for_function("""() => [...document.querySelectorAll('.jp-RenderedImage img')]
                                   .every(img => img.complete)""", timeout=30_000)
        widths = page.evaluate("() => [...document.querySelectorAll('.jp-RenderedImage img')].map(i => i.naturalWidth)")
        assert all(w > 0 for w in widths), f"figures that did not load (naturalWidth 0): {widths}"
        page.screenshot(path=str(tmp_path / f"html_copy_{name[:2]}.png"))
    page.close()
    print(f"{len(widths)} figures loaded; screenshots in {tmp_path}")
