"""Open the tour notebook in JupyterLab in a real (headless) browser and run it.

Used by ``make test-browser``. Starts JupyterLab on a free loopback port with a token, on a
temporary copy of the tour's pair (``notebooks/00_tour.ipynb`` and ``00_tour.py``) and the
folder's ``jupytext.toml``, so nothing in the repository is touched and the notebook opens
paired, its cells read from the ``.py`` as in ``make lab``. Opens it in Debian's Chromium
through Playwright, runs all cells from the Run menu, waits for the kernel to go idle, and
checks: no error output, at least one image, a slider rendered. Saves a screenshot to
``build/browser/tour.png``. Exits non-zero with the reason on failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"JupyterLab did not answer at {url}")


def main() -> int:
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
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
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
            wait_for_server(f"{base}/api/status?token={token}", time.monotonic() + 90)
            return drive(f"{base}/lab/tree/00_tour.ipynb?token={token}", out_dir)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def drive(url: str, out_dir: Path) -> int:
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
        browser.close()
    print(f"images: {images}, sliders: {sliders}, error outputs: {errors + tracebacks}")
    problems = []
    if errors or tracebacks:
        problems.append(f"{errors + tracebacks} error output(s)")
    if images < 1:
        problems.append("no image output")
    if sliders < 1:
        problems.append("no slider rendered")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print(f"OK: the tour ran in JupyterLab; screenshot {out_dir / 'tour.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
