"""Open the tour notebook in JupyterLab in a real (headless) browser and run it.

Used by ``make test-browser``. Starts JupyterLab on a free loopback port with a token, on a
temporary copy of the tour's pair (``notebooks/00_tour.ipynb`` and ``00_tour.py``) and the
folder's ``jupytext.toml``, so nothing in the repository is touched and the notebook opens
paired, its cells read from the ``.py`` as in ``make lab``. Opens it in Debian's Chromium
through Playwright, runs all cells from the Run menu, waits for the kernel to go idle, and
checks: no error output, at least one image, a slider rendered, no news pop-up (JupyterLab
starts with the room settings of ``make lab``; ``--without-room-settings`` shows the check
failing), and that the marks of the
exercise results and claims (``✓ Correct``, ``✗ Not yet``, ``✓ claim``) are in the outputs and
drawn with a real font, not as the empty box of a missing glyph (see :data:`GLYPH_PROBE`). Saves
a screenshot to ``build/browser/tour.png``. Exits non-zero with the reason on failure.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab_server import answers, free_port, lab_command, stop
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LABSIM_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: The text of JupyterLab's first-run notification asking to fetch news.
NEWS_PROMPT = "official Jupyter news"
#: The marks that must render: the exercise results' (labsim.exercises.base) and claims'.
MARKS = {"check mark U+2713": "\u2713", "ballot x U+2717": "\u2717"}
#: Glyphs known to be missing from the fonts of a plain Debian chromium (no emoji font): the
#: probe must report them missing, or it proves nothing.
CONTROLS = {"green square U+1F7E9": "\U0001f7e9", "check mark button U+2705": "\u2705"}

#: In the page: draw ``glyph`` on a canvas in the font of ``element`` (its computed size and
#: family, so the same fallback chain as the output) and compare the pixels with those of an
#: unassigned code point (U+0378), which no font has: Chromium draws the same ".notdef" box for
#: every missing glyph, so equal pixels mean the glyph is missing. Width alone cannot tell
#: (in a monospace font the box is as wide as every other glyph).
GLYPH_PROBE = """
(element, glyphs) => {
    const style = getComputedStyle(element);
    const font = `${style.fontStyle} ${style.fontWeight} 32px ${style.fontFamily}`;
    const draw = (text) => {
        const canvas = document.createElement("canvas");
        canvas.width = 64;
        canvas.height = 64;
        const ctx = canvas.getContext("2d");
        ctx.font = font;
        ctx.fillStyle = "#000";
        ctx.textBaseline = "middle";
        ctx.fillText(text, 8, 32);
        const data = ctx.getImageData(0, 0, 64, 64).data;
        let ink = 0;
        for (let i = 3; i < data.length; i += 4) ink += data[i] > 0 ? 1 : 0;
        return {pixels: Array.from(data).join(","), ink, width: ctx.measureText(text).width};
    };
    const tofu = draw("\u0378");
    const result = {font, tofuInk: tofu.ink};
    for (const [name, glyph] of Object.entries(glyphs)) {
        const g = draw(glyph);
        result[name] = {rendered: g.ink > 0 && g.pixels !== tofu.pixels, ink: g.ink,
                        width: g.width};
    }
    return result;
}
"""


def check_marks(page) -> list[str]:
    """Problems with the marks of the exercise and claim outputs (empty when all is well)."""
    problems = []
    outputs = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']")
    texts = outputs.all_text_contents()
    wanted = {
        "an exercise marked correct": lambda t: "\u2713 Correct (" in t,
        "an exercise marked not yet": lambda t: "\u2717 Not yet (" in t,
        "a claim that holds": lambda t: any(line.startswith("\u2713 ") for line in t.splitlines()),
    }
    for what, found in wanted.items():
        if not any(found(t) for t in texts):
            problems.append(f"no output with {what}")
    index = next((i for i, t in enumerate(texts) if "\u2713 Correct (" in t), None)
    if index is None:
        return problems
    element = outputs.nth(index)
    element.scroll_into_view_if_needed()
    element.screenshot(path=str(ROOT / "build" / "browser" / "marks.png"))
    probe = element.evaluate(GLYPH_PROBE, {**MARKS, **CONTROLS})
    print(f"glyph probe in {probe['font']!r} (missing-glyph box: {probe['tofuInk']} px of ink):")
    for name in {**MARKS, **CONTROLS}:
        shown = "drawn by a font" if probe[name]["rendered"] else "missing (empty box)"
        print(f"  {name}: {shown}")
    if not probe["tofuInk"]:
        problems.append("the missing-glyph reference drew nothing: the probe cannot tell")
    problems += [f"{name} renders as an empty box" for name in MARKS if not probe[name]["rendered"]]
    problems += [
        f"control {name} is not reported missing: the glyph probe is not trustworthy here"
        for name in CONTROLS
        if probe[name]["rendered"]
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--without-room-settings",
        action="store_true",
        help="start JupyterLab without tools/jupyterlab (the news pop-up must then appear: "
        "shows that the pop-up check can fail)",
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install "
            "chromium) or set LABSIM_CHROMIUM"
        )
    out_dir = ROOT / "build" / "browser"
    out_dir.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        # The .py last: the source is the newer file of the pair, as jupytext expects.
        for name in ("jupytext.toml", "00_tour.ipynb", "00_tour.py"):
            shutil.copy(ROOT / "notebooks" / name, work / name)
        command = lab_command(
            sys.executable, port, token, work, room_settings=not args.without_room_settings
        )
        # Render every cell (JupyterLab 4 only renders the cells in view by default) and keep
        # settings and workspaces out of the user's home.
        settings = Path(tmp) / "settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True)
        (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
        env = {
            **os.environ,
            "LABSIM_PROGRESS": "0",
            "JUPYTERLAB_SETTINGS_DIR": str(Path(tmp) / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(Path(tmp) / "workspaces"),
        }
        log = (out_dir / "jupyter.log").open("w")
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            status = f"{base}/api/status?token={token}"
            if not answers(status, time.monotonic() + 90, server):
                raise SystemExit(f"JupyterLab did not answer at {status}")
            return drive(
                f"{base}/lab/tree/00_tour.ipynb?token={token}",
                out_dir,
                expect_news=args.without_room_settings,
            )
        finally:
            stop(server)
            log.close()


def drive(url: str, out_dir: Path, expect_news: bool = False) -> int:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        # Wait for the kernel itself (the status bar), not only the notebook's indicator:
        # "Run All" clicked before the kernel is connected does nothing.
        kernel_idle = page.get_by_text("Python 3 (ipykernel) | Idle")
        kernel_idle.wait_for(timeout=120_000)
        page.wait_for_timeout(2_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_selector(".jp-OutputArea-output img", timeout=180_000, state="attached")
            page.wait_for_selector(".widget-slider", timeout=180_000, state="attached")
            # Run All marks every queued cell [*]; the run is over when none is left.
            page.wait_for_function(
                "() => ![...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
                ".some(p => p.textContent.includes('*'))",
                timeout=180_000,
            )
            kernel_idle.wait_for(timeout=180_000)
        except PlaywrightTimeout:
            page.screenshot(path=str(out_dir / "failure.png"), full_page=False)
            print(f"timed out waiting for the run; screenshot {out_dir / 'failure.png'}")
        errors = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).count()
        tracebacks = page.locator(
            ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']"
        ).count()
        images = page.locator(".jp-OutputArea-output img").count()
        sliders = page.locator(".widget-slider").count()
        if sliders:
            page.locator(".widget-slider").first.scroll_into_view_if_needed()
        page.screenshot(path=str(out_dir / "tour.png"), full_page=False)
        mark_problems = check_marks(page)
        # JupyterLab asks about news in a notification a few seconds after it opens; the whole
        # run has taken far longer, so by now it is on screen unless the room settings hold.
        news = page.get_by_text(NEWS_PROMPT).count()
        browser.close()
    print(f"images: {images}, sliders: {sliders}, error outputs: {errors + tracebacks}")
    problems = []
    if errors or tracebacks:
        problems.append(f"{errors + tracebacks} error output(s)")
    if images < 1:
        problems.append("no image output")
    if sliders < 1:
        problems.append("no slider rendered")
    problems += mark_problems
    print(f"news pop-up shown: {'yes' if news else 'no'}")
    if news and not expect_news:
        problems.append("the news pop-up is shown (tools/jupyterlab/overrides.json not applied)")
    if expect_news and not news:
        problems.append("no news pop-up without the room settings: the pop-up check proves nothing")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print(f"OK: the tour ran in JupyterLab; screenshot {out_dir / 'tour.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
