"""nas-harness: a competition-style evaluation harness and leaderboard for weight-sharing NAS supernets."""

__version__ = "0.1.0"
