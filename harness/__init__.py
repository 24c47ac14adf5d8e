"""nas-harness: a competition-style evaluation harness and leaderboard for weight-sharing NAS supernets."""

from harness.version import __version__ as __version__


def __getattr__(name: str):  # lazy: `import harness` stays free of torch (the leaderboard app imports it)
    if name in ("score_supernet", "local_context"):
        import harness.api

        return getattr(harness.api, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
