"""Page furniture shared by every page: the sidebar, loading the store, empty states, run labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from harness.store import RunRecord
from leaderboard_app import data, settings
from leaderboard_app.settings import AppContext

SCORE_HINT = "Score a submission with `nas-harness score submissions/NAME` and it appears here."
WATCH_EVERY_S = 20


@dataclass(frozen=True)
class Loaded:
    ctx: AppContext
    state: data.StoreState
    runs: list[RunRecord]

    def ok_runs(self, benchmark: str | None = None) -> list[RunRecord]:
        return [r for r in self.runs if r.status == "ok" and (benchmark is None or r.benchmark == benchmark)]

    def benchmarks(self) -> list[str]:
        """Benchmarks with at least one completed run, by name."""
        return sorted({r.benchmark for r in self.runs if r.status == "ok"})


def sidebar() -> AppContext:
    """Mode badge, store setting (host only), store summary. Rendered by app.py around every page."""
    mode, _ = settings.app_mode()
    with st.sidebar:
        if mode == "host":
            st.text_input(
                "Results store folder",
                value=str(settings.default_store()),
                key=settings.STORE_WIDGET_KEY,
                help="Folder holding runs.sqlite (default: $NAS_HARNESS_STORE or ./results). Host view only.",
            )
        ctx = settings.context()
        if ctx.warning:
            st.warning(ctx.warning)
        if ctx.public:
            st.caption("**Public view** · scores on the public dev split only; the hidden test split stays hidden.")
        else:
            st.caption("**Host view** · all GT splits, the hidden test split included. Do not share this server.")
            st.caption(f"Store: `{ctx.store}`")
        state = data.store_state(ctx)
        if state.kind == "ok" and not participant_view(ctx):
            st.caption(f"{state.fingerprint[0]} run(s) in the store.")
        st.button("Refresh", help=f"Re-read the store (it is also checked every {WATCH_EVERY_S} s and on any interaction).", width="stretch")
        _watch_store(ctx, state.fingerprint)
    return ctx


@st.fragment(run_every=WATCH_EVERY_S)
def _watch_store(ctx: AppContext, seen: tuple[int, int]) -> None:
    """Rerun the whole app when a run lands or changes, so an open leaderboard stays current by itself."""
    if data.store_state(ctx).fingerprint != seen:
        st.rerun(scope="app")


HOST_ONLY = ("This page lists every run of the store, so while a challenge is hosted it is the host's view only. "
             "Participants: **My submissions** shows your team's submissions and the boards of public or revealed phases.")


def participant_view(ctx: AppContext) -> bool:
    """The public view of a hosted challenge: only the challenge pages' rule (harness.challenge.views) applies."""
    from leaderboard_app.challenge_ui import challenge_folder

    return ctx.public and challenge_folder() is not None


def load() -> Loaded:
    """The store's runs for the current mode; shows the empty or error state and stops the page when unusable.

    In a hosted challenge's public view it stops every general page (host-only there, see :data:`HOST_ONLY`)."""
    ctx = settings.context()
    if participant_view(ctx):
        st.info(HOST_ONLY, icon=":material/lock:")
        st.stop()
    state = data.store_state(ctx)
    if state.kind == "missing":
        where = "" if ctx.public else f" at `{ctx.store}`"
        st.info(f"No results yet: there is no results store{where}. {SCORE_HINT}", icon=":material/inbox:")
        st.stop()
    if state.kind == "error":
        detail = "ask the challenge host" if ctx.public else state.message  # no server paths in the public view
        st.error(f"The results store cannot be read: {detail}", icon=":material/error:")
        st.stop()
    loaded = Loaded(ctx, state, data.runs(ctx, state))
    if not loaded.runs:
        st.info(f"The results store is empty. {SCORE_HINT}", icon=":material/inbox:")
        st.stop()
    return loaded


def submission_order(loaded: Loaded) -> list[tuple[str, str]]:
    """(submission, benchmark) pairs: per benchmark in leaderboard order, then those with no completed run."""
    from leaderboard_app import tables

    keys: list[tuple[str, str]] = []
    for bench in loaded.benchmarks():
        runs = loaded.ok_runs(bench)
        primary = primary_of(loaded.ctx, bench, runs)
        keys += [(r.submission, bench) for r in tables.choose_runs(runs, split="dev", sort_metric=primary, per_submission="best")]
    rest = sorted({(r.submission, r.benchmark) for r in loaded.runs} - set(keys))
    return keys + rest


def split_choice(ctx: AppContext, key: str) -> str:
    """The GT split to show: fixed to dev in public mode, a choice for the host."""
    if ctx.public:
        return "dev"
    choice = st.segmented_control("GT split", options=list(ctx.splits), default="dev", key=key,
                                  help="dev: public; test: hidden from participants")
    return choice or "dev"


def run_label(run: RunRecord, primary: str | None = None, split: str = "dev") -> str:
    value = run.metric(primary, split) if primary and run.status == "ok" else None
    score = f" · {value:.3f}" if value is not None else ""
    return f"{run.submission} · {run.version_label} · {run.run_id} · {data.display_status(run)}{score}"


def primary_of(ctx: AppContext, benchmark: str, runs: Sequence[RunRecord]) -> str:
    """The benchmark's primary metric: from the registry, else as recorded in its runs, else Kendall τ."""
    from leaderboard_app import tables

    usable = set(tables.sortable_metrics())
    info = data.bench_info(ctx, benchmark)
    candidates = [info.primary_metric, *(r.primary_metric for r in runs)]
    return next((m for m in candidates if m in usable), "kendall_tau")
