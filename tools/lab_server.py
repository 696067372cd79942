"""Starting a private JupyterLab server for the checks in tools/ (standard library only).

The room check (``make check-room``) and the browser check (``make test-browser``) both start
JupyterLab on a free local port with a token, as ``make lab`` would, wait for it to answer and
stop it again; this module holds what they share.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

__all__ = ["ROOM_SETTINGS", "answers", "free_port", "lab_command", "stop"]

#: The room defaults ``make lab`` passes to JupyterLab (no news pop-up, ...).
ROOM_SETTINGS = Path(__file__).resolve().parent / "jupyterlab"


def free_port() -> int:
    """A local TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_command(
    python: str | Path, port: int, token: str, root_dir: Path, room_settings: bool = True
) -> list[str]:
    """The command starting JupyterLab on ``127.0.0.1:port`` with ``token``, serving
    ``root_dir``, with the room settings unless ``room_settings`` is false."""
    command = [
        str(python),
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    if room_settings:
        command.append(f"--LabApp.app_settings_dir={ROOM_SETTINGS}")
    if os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses to run as root without it
    return command


def answers(
    url: str, deadline: float, server: subprocess.Popen | None = None, pause: float = 0.5
) -> bool:
    """Whether ``url`` answers 200 before ``deadline`` (``time.monotonic()``); gives up at
    once if ``server`` exits meanwhile."""
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(pause)
    return False


def stop(server: subprocess.Popen) -> None:
    """Stop the server: terminate, and kill it if it has not ended within 20 s."""
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
