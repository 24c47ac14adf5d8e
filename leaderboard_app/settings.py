"""Which store the app shows and whether it is the public or the host view.

Why the mode comes only from the environment or ``.streamlit/secrets.toml``: those are set by whoever runs the
server. A URL parameter or a widget could be changed by any participant in their browser, and the host view
shows the hidden test split. An unknown value falls back to public (fail closed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness import config

MODE_ENV = "NAS_HARNESS_APP_MODE"
MODES = ("public", "host")
SECRET_KEYS = (MODE_ENV, "app_mode")
STORE_WIDGET_KEY = "store_path_setting"


@dataclass(frozen=True)
class AppContext:
    """What every page needs: the store folder, the mode and the GT splits that mode may show."""

    store: Path
    mode: str
    warning: str | None = None

    @property
    def public(self) -> bool:
        return self.mode != "host"

    @property
    def splits(self) -> tuple[str, ...]:
        """GT splits whose results may be shown: the hidden test split only to the host."""
        return ("dev",) if self.public else ("dev", "test")


def _secret_mode() -> str | None:
    try:
        import streamlit as st

        for key in SECRET_KEYS:
            if key in st.secrets:
                return str(st.secrets[key])
    except Exception:  # noqa: BLE001  (no secrets file, unparsable file, no Streamlit runtime)
        return None
    return None


def app_mode() -> tuple[str, str | None]:
    """(mode, warning): ``$NAS_HARNESS_APP_MODE``, else the secrets file, else public."""
    raw, source = os.environ.get(MODE_ENV), f"${MODE_ENV}"
    if raw is None:
        raw, source = _secret_mode(), ".streamlit/secrets.toml"
    if raw is None or not raw.strip():
        return "public", None
    value = raw.strip().lower()
    if value not in MODES:
        return "public", f"unknown app mode {raw!r} in {source}; showing the public view (use public or host)"
    return value, None


def default_store() -> Path:
    """The store the CLI uses: ``$NAS_HARNESS_STORE`` or ``./results``."""
    return config.store_dir().expanduser().absolute()


def context() -> AppContext:
    """The current context. The store path may be changed in the sidebar, but only in host mode.

    Why not in public mode: a path box on a public server would let anyone make the app open any folder on it.
    """
    mode, warning = app_mode()
    store = default_store()
    if mode == "host":
        import streamlit as st

        typed = st.session_state.get(STORE_WIDGET_KEY)
        if isinstance(typed, str) and typed.strip():
            store = Path(typed.strip()).expanduser().absolute()
    return AppContext(store=store, mode=mode, warning=warning)
