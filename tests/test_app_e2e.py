"""End to end: `streamlit run` on a loopback port, headless Chromium, the leaderboard table must render.

Chromium is driven through chromedriver's W3C WebDriver HTTP API with urllib (no selenium dependency). The
screenshot lands in test-artifacts/. Skips, saying why, when chromium or chromedriver is not installed
(Debian: `apt-get install chromium chromium-driver`; .ci/run installs them).

Also a small tool to screenshot any store (e.g. for the README)::

    python tests/test_app_e2e.py --store results --out docs/leaderboard.png [--mode public] [--benchmark-dirs DIR]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
TABLE = '[data-testid="stDataFrame"]'
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--force-device-scale-factor=1"]
E2E_NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]  # demo teams: synthetic predictions


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"null")


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, urllib.error.URLError):
            if result := check():
                return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class WebDriver:
    """The four WebDriver calls this test needs: open a page, find elements, run a script, screenshot."""

    def __init__(self, driver_url: str, chromium: str, window: str = "1600,1100") -> None:
        args = [*CHROME_ARGS, f"--window-size={window}"]
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": chromium, "args": args}}}}
        reply = _http("POST", f"{driver_url}/session", caps, timeout=120)
        value = reply.get("value", {}) if isinstance(reply, dict) else {}
        if "sessionId" not in value:
            raise RuntimeError(f"chromedriver could not start chromium: {value.get('message', reply)}"[:500])
        self.url = f"{driver_url}/session/{value['sessionId']}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return _http(method, self.url + path, body, timeout=120).get("value")

    def get(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def script(self, js: str) -> Any:
        return self.call("POST", "/execute/sync", {"script": js, "args": []})

    def count(self, css: str) -> int:
        found = self.call("POST", "/elements", {"using": "css selector", "value": css})
        return len(found) if isinstance(found, list) else 0

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("GET", "/screenshot")))

    def quit(self) -> None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            _http("DELETE", self.url, timeout=30)


@contextlib.contextmanager
def _process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def streamlit_server(store: Path, mode: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run leaderboard_app/app.py` on a free loopback port; yields its URL once healthy."""
    from leaderboard_app.launch import app_env, build_command

    port = free_port()
    cmd = build_command(port=port, address="127.0.0.1", headless=True)
    with _process(cmd, app_env(store, mode, env), log) as proc:
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode}; see {log}")
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as resp:
                return resp.status == 200

        wait_until(healthy, 90, "the streamlit server")
        yield url


@contextlib.contextmanager
def browser(log: Path, window: str = "1600,1100") -> Iterator[WebDriver]:
    chromium, driver = chromium_binary(), shutil.which("chromedriver")
    if chromium is None or driver is None:
        raise FileNotFoundError("chromium or chromedriver not installed")
    port = free_port()
    with _process([driver, f"--port={port}"], dict(os.environ), log):
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _http("GET", f"{url}/status", timeout=5).get("value", {}).get("ready"), 30, "chromedriver")
        wd = WebDriver(url, chromium, window)
        try:
            yield wd
        finally:
            wd.quit()


def capture_leaderboard(wd: WebDriver, url: str, shot: Path, expect_text: str | None = None, timeout: float = 120) -> dict[str, Any]:
    """Open the app, wait for the leaderboard table (and ``expect_text`` inside it), settle, screenshot."""
    wd.get(url)
    state: dict[str, Any] = {"tables": 0, "text_found": expect_text is None, "exception": False}

    def rendered() -> bool:
        state["tables"] = wd.count(TABLE)
        state["exception"] = wd.count('[data-testid="stException"]') > 0
        if expect_text is not None and state["tables"]:
            html = wd.script(f"return Array.from(document.querySelectorAll('{TABLE}')).map(e => e.innerText + ' ' + e.innerHTML).join(' ')") or ""
            state["text_found"] = expect_text in html
        running = wd.count('[data-testid="stStatusWidget"]') > 0 and "Running" in (wd.script("return document.querySelector('[data-testid=\"stStatusWidget\"]')?.innerText || ''") or "")
        return bool(state["tables"]) and state["text_found"] and not running

    try:
        wait_until(rendered, timeout, "the leaderboard table", interval=0.5)
        time.sleep(1.5)  # let the grid and fonts finish painting before the screenshot
        state["ok"] = True
    except TimeoutError:
        state["ok"] = False
    wd.screenshot(shot)
    state["title"] = wd.script("return document.title")
    # the grid keeps an accessible <table> in the DOM: its rows are what the user sees, cell by cell
    state["rows"] = wd.script(
        f"const t = document.querySelector('{TABLE}'); if (!t) return [];"
        " return Array.from(t.querySelectorAll('table tr')).map(r => Array.from(r.children).map(c => c.innerText));"
    ) or []
    return state


# ------------------------------------------------------------------------------------------ the test
def _populated_store(root: Path, bench_dir: Path) -> Path:
    from harness.benchmarks import get_benchmark
    from harness.benchmarks.loaders import clear_cache
    from harness.store import ResultStore
    from store_fixtures import populate

    os.environ["NAS_HARNESS_BENCHMARK_DIRS"] = str(bench_dir)
    clear_cache()
    store = ResultStore(root / "store")
    populate(store, get_benchmark("tiny-w20"), n_ok=6, n_failed=1, names=E2E_NAMES, n_boot=200)
    return root / "store"


@pytest.mark.slow
def test_leaderboard_renders_in_headless_chromium(tmp_path: Path, tiny_bench_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if chromium_binary() is None or shutil.which("chromedriver") is None:
        pytest.skip("headless e2e needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver; .ci/run installs them)")
    monkeypatch.setenv("NAS_HARNESS_BENCHMARK_DIRS", str(tiny_bench_dir))
    store = _populated_store(tmp_path, tiny_bench_dir)
    env = dict(os.environ)
    shot = ARTIFACTS / "leaderboard-public.png"
    from harness.store import ResultStore

    expected = [r.submission for r in ResultStore(store).leaderboard("tiny-w20", primary="kendall_tau")]
    with streamlit_server(store, "public", env, ARTIFACTS / "streamlit-e2e.log") as url, browser(ARTIFACTS / "chromedriver-e2e.log") as wd:
        state = capture_leaderboard(wd, url, shot, expect_text=expected[0])
    assert shot.is_file() and shot.stat().st_size > 10_000, f"no screenshot at {shot}"
    assert not state["exception"], f"the app showed an exception; see {shot}"
    assert state["ok"] and state["tables"] >= 1, f"the leaderboard table did not render ({ {k: v for k, v in state.items() if k != 'rows'} }); see {shot}"
    rows = state["rows"]
    assert rows and rows[0][:2] == ["#", "submission"], f"unexpected table header {rows[:1]}; see {shot}"
    assert [r[1] for r in rows[1:3]] == ["GT noise ceiling", "#params baseline"], f"reference rows missing; see {shot}"
    assert [r[1] for r in rows[3:]] == expected, f"table rows {[r[1] for r in rows[3:]]} != leaderboard {expected}; see {shot}"
    assert [r[0] for r in rows[3:]] == [str(i) for i in range(1, len(expected) + 1)]


# ------------------------------------------------------------------------------------------ screenshot tool
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot the leaderboard of a results store with headless chromium.")
    parser.add_argument("--store", type=Path, help="results store (default: a demo store on the tiny test benchmark)")
    parser.add_argument("--out", type=Path, default=ARTIFACTS / "leaderboard.png")
    parser.add_argument("--mode", default="public", choices=["public", "host"])
    parser.add_argument("--benchmark-dirs", type=Path, help="extra benchmark spec folder ($NAS_HARNESS_BENCHMARK_DIRS)")
    parser.add_argument("--window", default="1600,1100", help="browser window WIDTH,HEIGHT")
    parser.add_argument("--page", default="", help="page path to open, e.g. submission or compare (default: the leaderboard)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store
        if store is None:
            from tiny_bench import make_tiny_benchmark

            bench_dir = make_tiny_benchmark(Path(tmp) / "benchmarks")
            env["NAS_HARNESS_BENCHMARK_DIRS"] = str(bench_dir)
            store = _populated_store(Path(tmp), bench_dir)
        elif args.benchmark_dirs:
            env["NAS_HARNESS_BENCHMARK_DIRS"] = str(args.benchmark_dirs)
        with streamlit_server(store, args.mode, env, ARTIFACTS / "streamlit-shot.log") as url, browser(ARTIFACTS / "chromedriver-shot.log", args.window) as wd:
            state = capture_leaderboard(wd, f"{url}/{args.page}", args.out)
    print(json.dumps({k: v for k, v in state.items() if k != "rows"}, default=str))
    return 0 if state.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
