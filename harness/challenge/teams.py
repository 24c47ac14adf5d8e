"""Team names and tokens.

Why only a hash of the token is stored: the store is read by the app and copied into backups; a leaked store
must not let anyone submit as a team. Tokens are 32 random bytes, so a plain SHA-256 is enough (there is no
password to brute-force; a slow KDF would only slow every upload). Why names are host-given and checked here:
a team's name is what every leaderboard shows, so it must be plain text and must not impersonate another team
or a reference row (``spos``, a baseline) the host scored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata

from harness.challenge.config import ChallengeError

TOKEN_PREFIX = "nht_"
TEAM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$")
RESERVED_WORDS = ("reference", "baseline", "host", "admin")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8", "replace")).hexdigest()


#: characters a reader confuses, folded to one of each group (after case folding): l/i/1 (and |), o/0
_CONFUSABLE = str.maketrans({"i": "l", "1": "l", "|": "l", "0": "o"})


def name_key(name: str) -> str:
    """The identity a name collides on: what a reader of a leaderboard cannot tell apart.

    Case and width (NFKC, casefold), separators or none ("Team_A" == "team-a" == "TEAM A" == "TeamA" == "t.e.a.m.a"),
    and the glyphs that look alike in a table's font: ``rn``/``m``, ``l``/``I``/``1``, ``O``/``0`` ("Team BIue" ==
    "Team Blue", "C0rnet" == "comet"). A name is refused when its key equals another's; so two keys may be equal for
    names that differ to a careful eye, which only costs a team another name.
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    folded = re.sub(r"[\W_]+", "", folded)
    return folded.replace("rn", "m").translate(_CONFUSABLE)


def _reference_row_keys() -> set[str]:
    """Keys of the store's own reference-row names (noise ceiling, #params baseline, ground truth, ...)."""
    from harness.submission.text import RESERVED_NAMES

    return {name_key(n) for n in RESERVED_NAMES}


def check_team_name(name: str, taken: set[str]) -> str:
    """The validated name (stripped); ``taken`` holds name keys of teams and reference rows it may not take."""
    if not isinstance(name, str) or not TEAM_RE.match(name.strip()):
        raise ChallengeError(
            f"team name {name!r} must be 1-40 characters: letters, digits, space, '-', '_' or '.', starting with a letter or digit"
        )
    name = name.strip()
    key = name_key(name)
    if any(key.startswith(name_key(w)) for w in RESERVED_WORDS):
        raise ChallengeError(f"team name {name!r} is reserved (names starting with {', '.join(RESERVED_WORDS)} are the host's)")
    if key in _reference_row_keys():
        raise ChallengeError(f"team name {name!r} is reserved: it reads as one of the leaderboard's own reference rows")
    if key in taken:
        raise ChallengeError(f"team name {name!r} is taken, or reads like a name that is (a team or a row of this challenge's store)")
    return name
