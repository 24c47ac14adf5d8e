"""``nas-harness challenge ...`` (and the top-level ``submit`` / ``worker``): thin commands over the library."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.challenge.config import ChallengeError

challenge_app = typer.Typer(help="Host a NAS challenge: phases, teams, limits, a submission queue, workers.", no_args_is_help=True)
team_app = typer.Typer(help="Teams of a challenge.", no_args_is_help=True)
challenge_app.add_typer(team_app, name="team")
console = Console()
if not console.is_terminal:
    console = Console(width=160)  # piped or logged: tables stay readable

ChallengeArg = Annotated[Path, typer.Argument(help="The challenge folder (holds challenge.toml).")]
ChallengeOpt = Annotated[Path, typer.Option("--challenge", "-c", help="The challenge folder (holds challenge.toml).")]


def _host(folder: Path, **kw: Any):
    from harness.challenge import open_challenge

    return open_challenge(folder, **kw)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the rows as JSON (whole values, for scripts).")]
#: columns holding ids a host copies into the next command: never cut or wrapped
ID_COLUMNS = ("submission", "run", "lease_owner", "rerun_of")
SHORT, LONG = 24, 48  # values up to SHORT characters stay on one line; longer text folds at LONG


def _json(value: Any) -> None:
    """JSON on stdout, plain (no rich markup); control characters in participants' strings arrive escaped."""
    print(json.dumps(value, indent=1, default=str))


def _table(rows: list[dict[str, Any]], title: str, as_json: bool = False, note: str = "") -> None:
    """Rows as a table, no value ever cut: ids and short values keep one line, long text (errors) folds, and the
    table is drawn as wide as it needs (a narrow terminal wraps the line; ids still copy whole)."""
    if as_json:
        _json(rows)
        return
    if not rows:
        console.print(f"{escape(title)}: nothing yet")
        return
    table = Table(title=escape(title), caption=escape(note) or None)
    needed = 1
    for col in rows[0]:
        cells = [len("—" if r.get(col) is None else str(r.get(col))) for r in rows]
        width = max([len(str(col)), *cells])
        if col in ID_COLUMNS or width <= SHORT:
            table.add_column(str(col), no_wrap=True, min_width=width, overflow="ignore")
        else:
            width = LONG
            table.add_column(str(col), overflow="fold", max_width=LONG)
        needed += width + 3
    for r in rows:
        table.add_row(*("—" if v is None else escape(str(v)) for v in r.values()))
    out = console if needed <= console.width else Console(width=needed, highlight=False)
    out.print(table)


@challenge_app.command("init")
def init(
    folder: ChallengeArg,
    name: Annotated[str, typer.Option("--name", help="Short lower-case challenge name.")],
    benchmark: Annotated[str, typer.Option("--benchmark", help="Benchmark the challenge scores on.")],
) -> None:
    """Write a commented challenge.toml (a public development phase and a blind final phase)."""
    from harness.challenge import init_challenge

    path = init_challenge(folder, name=name, benchmark=benchmark)
    console.print(f"wrote {escape(str(path))}: edit the dates, limits and ranking rule, then `nas-harness challenge validate`")


@challenge_app.command("validate")
def validate(folder: ChallengeArg, as_json: JsonOpt = False) -> None:
    """Check challenge.toml and print its phases; warn when a hidden phase ranks on a GT anyone can read."""
    from harness.challenge import parse_challenge
    from harness.challenge.host import packaged_gt_warnings

    c = parse_challenge(folder)
    rows = [{"phase": p.name, "start (UTC)": f"{p.start:%Y-%m-%d %H:%M}", "end (UTC)": f"{p.end:%Y-%m-%d %H:%M}",
             "split": p.split, "visibility": p.visibility, "per day": p.limits.per_day, "total": p.limits.total,
             "at once": p.limits.concurrent} for p in c.phases]
    warnings = packaged_gt_warnings(c)
    if as_json:
        _json({"challenge": c.name, "benchmark": c.benchmark, "ranking_rule": c.ranking_rule,
               "full_sweep": c.scoring.full_sweep, "phases": rows, "warnings": warnings})
        return
    _table(rows, f"{c.name} on {c.benchmark}: ranking by {c.ranking_rule}, tie-break {', '.join(c.tie_break) or 'none'}")
    console.print("scoring: " + ("the whole arch set per job ([scoring] full_sweep = true)" if c.scoring.full_sweep
                                 else "the GT archs only per job ([scoring] full_sweep = false)"), highlight=False)
    for w in warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)


@team_app.command("add")
def team_add(folder: ChallengeArg, name: Annotated[str, typer.Argument(help="The team's display name.")]) -> None:
    """Create a team and print its token ONCE (only its hash is stored: hand it to the team now)."""
    host = _host(folder)
    token = host.add_team(name)
    console.print(f"team {escape(host.team(name))} added; its token (shown once, not stored):")
    print(token)


@team_app.command("list")
def team_list(folder: ChallengeArg, as_json: JsonOpt = False) -> None:
    """The challenge's teams."""
    from datetime import UTC, datetime

    host = _host(folder)
    _table([{"team": n, "created (UTC)": datetime.fromtimestamp(t / 1e9, UTC).strftime("%Y-%m-%d %H:%M")}
            for n, t in host.queue.teams(host.name)], "teams", as_json)


def submit(
    folder: Annotated[Path, typer.Argument(help="The submission folder.")],
    challenge: ChallengeOpt,
    team: Annotated[str, typer.Option("--team", "-t", help="The team it is submitted for.")],
) -> None:
    """Host: enqueue a submission folder for a team (same checks and limits as an upload)."""
    from harness.challenge.intake import submit_folder

    host = _host(challenge)
    job = submit_folder(host, team, folder)
    console.print(f"submission {job.job_id} of team {escape(job.team)} is {job.state} in phase {job.phase}")


def worker(
    challenge: ChallengeOpt,
    once: Annotated[bool, typer.Option("--once", help="Drain the queue and exit.")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, help="Jobs at once.")] = 1,
    gpus: Annotated[Optional[str], typer.Option("--gpus", help="Comma-separated GPU ids: one job per GPU.")] = None,
    ray: Annotated[Optional[str], typer.Option("--ray", help="Run each job as a task on this Ray cluster address.")] = None,
) -> None:
    """Run queued jobs of a challenge (leases + heartbeats: a killed worker's job runs again, recorded once)."""
    from harness.challenge.worker import run_worker

    host = _host(challenge)
    gpu_ids = None
    if gpus:
        try:
            gpu_ids = [int(g) for g in gpus.split(",") if g.strip()]
        except ValueError:
            raise ChallengeError(f"--gpus {gpus!r}: give GPU ids such as 0,1") from None
    execute = None
    if ray is not None:
        from harness.challenge.ray_exec import ray_executor

        execute = ray_executor(ray)

    def on_event(event: str, job: Any, message: str) -> None:
        console.print(f"{event:>9} {job.job_id} team {escape(job.team)}: {escape(message)}", highlight=False)

    stop, drain = threading.Event(), threading.Event()

    def on_sigterm(_signum: int, _frame: Any) -> None:  # drain: stop claiming, hand running jobs back at once
        drain.set()

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (an embedding caller): no handler, its own signals stay its own
        previous = None
    try:
        outcomes = run_worker(host, once=once, concurrency=concurrency, gpus=gpu_ids, on_event=on_event, stop=stop,
                              execute=execute, drain=drain)
    except KeyboardInterrupt:
        console.print("stopped; running jobs were handed back to the queue")
        raise typer.Exit(130) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if drain.is_set():
        console.print(f"stopped on SIGTERM after {len(outcomes)} job(s); running jobs were handed back to the queue")
        raise typer.Exit(143)
    console.print(f"{len(outcomes)} job(s) run")


challenge_app.command("submit")(submit)
challenge_app.command("worker")(worker)


@challenge_app.command("status")
def status(
    folder: ChallengeArg,
    state: Annotated[Optional[str], typer.Option("--state", help="Only jobs in this state.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Host: every submission (whole ids) with its state, attempts, lease and scores (both splits)."""
    from harness.challenge import views
    from harness.store.queue import STATES

    if state is not None and state not in STATES:
        raise ChallengeError(f"--state {state!r}: one of {', '.join(STATES)}")
    host = _host(folder)
    host.store.reap()
    _table(views.host_rows(host, states=[state] if state else None), f"{host.name}: submissions", as_json)


@challenge_app.command("cancel")
def cancel(folder: ChallengeArg, job: Annotated[str, typer.Argument(help="Submission id.")]) -> None:
    """Host: cancel a waiting or running submission (not counted); a running one's work is stopped at its worker's
    next heartbeat (the sandbox killed, its Ray tasks cancelled)."""
    j = _host(folder).cancel(job)
    console.print(f"submission {j.job_id} is {j.state}")


@challenge_app.command("rerun")
def rerun(folder: ChallengeArg, job: Annotated[str, typer.Argument(help="Submission id.")]) -> None:
    """Host: score a submission again as a new job that does not count against limits."""
    j = _host(folder).rerun(job)
    console.print(f"submission {j.job_id} (rerun of {j.rerun_of}) is {j.state}")


@challenge_app.command("approve")
def approve(folder: ChallengeArg, job: Annotated[str, typer.Argument(help="Submission id.")]) -> None:
    """Host: let a submitted job into the queue (challenges with require_approval = true)."""
    j = _host(folder).approve(job)
    console.print(f"submission {j.job_id} is {j.state}")


@challenge_app.command("select")
def select(
    folder: ChallengeArg,
    job: Annotated[str, typer.Argument(help="Submission id.")],
    team: Annotated[Optional[str], typer.Option("--team", "-t", help="Host: the team whose entry it is.")] = None,
    token: Annotated[Optional[str], typer.Option("--token", envvar="NAS_HARNESS_TEAM_TOKEN",
                                                 help="Participant: your team token [env NAS_HARNESS_TEAM_TOKEN].")] = None,
) -> None:
    """Make a finished submission the team's final entry of its phase (only under ranking rule 'selected').

    A participant selects with their token (their own submissions only); the host with --team."""
    host = _host(folder)
    if (team is None) == (token is None):
        raise ChallengeError("give --token (a participant) or --team (the host), not both")
    if token is not None:
        name = host.select_own(token, job)
    else:
        name = host.team(team or "")
        host.select(name, job)
    console.print(f"submission {job} is team {escape(name)}'s selected entry", highlight=False)


@challenge_app.command("reveal")
def reveal(
    folder: ChallengeArg,
    phase: Annotated[str, typer.Argument(help="Phase name.")],
    force: Annotated[bool, typer.Option("--force", help="With --end-now: reveal a phase that is still open.")] = False,
    end_now: Annotated[bool, typer.Option("--end-now", help="With --force: end the open phase now (no more uploads, for good).")] = False,
) -> None:
    """Host: show a phase's leaderboard and hidden-split scores to participants, after the phase ends (it then
    takes no more submissions)."""
    from harness.challenge.config import PhaseOpenError

    if force != end_now:
        raise PhaseOpenError("--force and --end-now go together: ending an open phase early must be said explicitly")
    host = _host(folder)
    host.reveal(phase, end_now=end_now)
    console.print(f"phase {escape(phase)} of {host.name} is revealed")


@challenge_app.command("leaderboard")
def leaderboard(
    folder: ChallengeArg,
    phase: Annotated[str, typer.Option("--phase", "-p", help="Phase name.")],
    host_view: Annotated[bool, typer.Option("--host", help="The host's view (hidden split before reveal).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """A phase's board: one entry per team by the ranking rule, the ranking metric with its 95 % CI, the baseline
    rows in place and which entries are tied with the leader. Hidden phases need --host until revealed."""
    from harness.challenge import board, views

    host = _host(folder)
    rows = board.challenge_board(host, phase, host_view=host_view)
    if not rows and not views.board_visible(host, host.challenge.phase(phase), views.HOST if host_view else views.ANYONE):
        if as_json:
            _json([])
            return
        console.print(f"the leaderboard of phase {escape(phase)} is hidden until the host reveals it")
        return
    if as_json:
        _json(rows)
        return
    _table(board.display_rows(rows), f"{host.name} · {phase}", note=board.title_note(rows))


@challenge_app.command("my")
def my(
    folder: ChallengeArg,
    token: Annotated[str, typer.Option("--token", envvar="NAS_HARNESS_TEAM_TOKEN", help="Your team token [env NAS_HARNESS_TEAM_TOKEN].")],
    as_json: JsonOpt = False,
) -> None:
    """A team's own submissions (what the app's "My submissions" shows): no hidden score before reveal."""
    from harness.challenge import views

    host = _host(folder)
    team = host.team_for_token(token)
    rows = views.participant_rows(host, team)
    if as_json:
        _json({"team": team, "quota": views.quota_line(host, team), "submissions": rows})
        return
    _table(rows, f"team {team}")
    console.print(escape(views.quota_line(host, team)))


@challenge_app.command("export")
def export(folder: ChallengeArg, out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("export")) -> None:
    """Host: every job (JSON) and each phase's final ranking (CSV, hidden split included)."""
    for path in _host(folder).export(out):
        console.print(f"wrote {escape(str(path))}")
