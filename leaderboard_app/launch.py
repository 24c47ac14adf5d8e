"""Start the Streamlit app for a results store: what ``nas-harness app`` calls.

Why a subprocess running ``python -m streamlit run``: Streamlit owns its server's event loop and signal handling;
running it as a child keeps the CLI thin and lets Ctrl-C stop it cleanly. The store and the mode travel as
environment variables, the one channel the app trusts for the mode (never the URL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from harness import config
from harness.errors import BadPathError, UnknownNameError
from leaderboard_app.settings import MODE_ENV, MODES

APP = Path(__file__).with_name("app.py")


def build_command(*, port: int | None = None, address: str | None = None, headless: bool = False, extra: Sequence[str] = ()) -> list[str]:
    """The ``streamlit run`` command line for the app."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false",
           "--client.toolbarMode", "viewer"]
    if port is not None:
        if not 1 <= int(port) <= 65535:
            raise BadPathError(f"port {port} is not in 1..65535")
        cmd += ["--server.port", str(int(port))]
    if address:
        cmd += ["--server.address", address]
    if headless:
        cmd += ["--server.headless", "true"]
    return [*cmd, *extra]


def resolve_mode(explicit: str | None, env: dict[str, str] | None = None) -> str:
    """The app's mode: an explicit ``--mode`` wins, else ``$NAS_HARNESS_APP_MODE``, else public.

    Why the CLI default must not be a value: a default of "public" would override the environment variable the
    host set (and the README documents) without anyone having asked for it.
    """
    if explicit is not None:
        return explicit.strip().lower()
    value = (os.environ if env is None else env).get(MODE_ENV, "").strip().lower()
    return value or "public"


def upload_limit_mb(env: dict[str, str] | None = None) -> int | None:
    """The hosted challenge's upload limit in MB (``$NAS_HARNESS_CHALLENGE``), so the uploader says what intake
    enforces instead of Streamlit's 200 MB default; None when no (readable) challenge is hosted."""
    from leaderboard_app.challenge_ui import CHALLENGE_ENV

    folder = (os.environ if env is None else env).get(CHALLENGE_ENV, "").strip()
    if not folder:
        return None
    from harness.challenge import parse_challenge
    from harness.errors import HarnessError

    try:
        c = parse_challenge(Path(folder).expanduser())
    except HarnessError:
        return None
    return max(1, -(-c.max_upload_bytes // 1024**2))


def app_env(store: Path, mode: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the app process: the store (absolute) and the mode."""
    if mode not in MODES:
        raise UnknownNameError(f"unknown app mode {mode!r}; use public or host")
    env = dict(os.environ if base is None else base)
    env[config.STORE_ENV] = str(Path(store).expanduser().absolute())
    env[MODE_ENV] = mode
    return env


def launch(store: Path, mode: str, port: int | None, *, address: str | None = None, headless: bool = False) -> int:
    """Run the app until it exits, Ctrl-C or SIGTERM; returns its exit code (128 + signal when stopped by one).

    The host view binds to 127.0.0.1 unless ``address`` says otherwise: it shows the hidden test split, so it
    should not be reachable from other machines by accident. SIGTERM is passed on to the server, so stopping
    ``nas-harness app`` (systemd, docker stop, kill) never leaves an orphaned Streamlit behind.
    """
    env = app_env(store, mode)
    if address is None and mode == "host":
        address = "127.0.0.1"
    limit = upload_limit_mb(env)
    extra = ["--server.maxUploadSize", str(limit)] if limit is not None else []
    proc = subprocess.Popen(build_command(port=port, address=address, headless=headless, extra=extra), env=env)
    with _forward_sigterm(proc):
        try:
            rc = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return 130
    return rc if rc >= 0 else 128 - rc


@contextlib.contextmanager
def _forward_sigterm(proc: subprocess.Popen[bytes]):  # type: ignore[type-arg]
    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    try:
        previous = signal.signal(signal.SIGTERM, forward)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
