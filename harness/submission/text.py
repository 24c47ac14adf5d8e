"""Participant strings: one sanitiser at intake, one escaping rule per output.

Why one module: a submission's name, authors, description, arch strings and a trainer's exception text are typed
by a stranger and shown to everyone (terminal, web page, CSV opened in a spreadsheet). Checking them in one place
at intake, and escaping them in one way per output, is what keeps a ``[/]`` name from breaking ``rich`` for every
user, an ANSI/OSC escape from reaching a host's terminal, a right-to-left override from spoofing rows, a markdown
image from making every viewer's browser fetch a tracking pixel, and ``=cmd|...`` from running in a spreadsheet.

* **Intake** (:func:`check_name`, :func:`check_text`): refuse, with one line, strings that are too long, hold
  control characters (C0/C1, ANSI/OSC escapes, DEL), bidirectional overrides or other invisible format characters,
  or (names) equal a reserved row name of the leaderboard.
* **Display of strings that were never admitted** (arch strings of a predictions file, exception messages):
  :func:`printable` replaces every such character by a visible ``\\uXXXX`` escape and cuts the length.
* **Outputs**: :func:`rich_escape` (rich markup), :func:`markdown_escape` (Streamlit markdown),
  :func:`csv_cell` (spreadsheet formula guard, OWASP's rule: a leading ``= + - @`` TAB or CR gets a ``'``).

Standard library only: the leaderboard app and the sandbox child import it without torch.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

#: longest accepted submission name / author, and description
MAX_NAME_CHARS = 80
MAX_DESCRIPTION_CHARS = 2000
#: longest untrusted string shown in a message (arch strings, exception texts)
MAX_SHOWN_CHARS = 120

#: names the leaderboard uses for its own rows: a submission named so would pass for one of them
RESERVED_NAMES = frozenset({
    "noise ceiling (gt seeds)", "gt noise ceiling", "noise ceiling", "#params baseline", "params baseline",
    "#flops baseline", "ground truth",
})

# Unicode categories refused: Cc (controls: C0, DEL, C1, so every ESC/CSI/OSC), Cf (format: bidi overrides and
# isolates, zero-width joiners, BOM), Cs (surrogates), Co (private use), Cn (unassigned), Zl/Zp (line/paragraph
# separators). In multi-line text (a description) only newline and tab are allowed among them.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~=$&'\"]|:(?=//))")


def _bad_chars(text: str, allow: str = "") -> list[str]:
    return [c for c in text if c not in allow and unicodedata.category(c) in _REFUSED_CATEGORIES]


def control_chars(text: str) -> list[str]:
    """The control, format and other invisible characters of ``text`` (what :func:`check_name` refuses)."""
    return _bad_chars(text)


def _describe(chars: list[str]) -> str:
    shown = sorted({f"U+{ord(c):04X}" for c in chars})
    return ", ".join(shown[:4]) + (", ..." if len(shown) > 4 else "")


def check_name(value: str, what: str = "name", *, reserved: bool = True, limit: int = MAX_NAME_CHARS) -> str:
    """``value`` stripped, or ValueError (one line) if it is empty, too long, holds control/format characters, or
    (``reserved``) equals a reserved row name. Callers wrap the ValueError in their own error type."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    text = value.strip()
    if not text:
        raise ValueError(f"{what} must not be empty")
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text)} characters long; the limit is {limit}")
    bad = _bad_chars(text)
    if bad:
        raise ValueError(f"{what} holds control or invisible formatting characters ({_describe(bad)}); use plain text")
    if reserved and " ".join(unicodedata.normalize("NFKC", text).casefold().split()) in RESERVED_NAMES:
        raise ValueError(f"{what} {text!r} is reserved for the leaderboard's own reference rows; choose another")
    return text


def check_text(value: str, what: str = "description", *, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    """Multi-line free text (a description): like :func:`check_name` but newlines and tabs allowed, nothing reserved."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    text = value.strip()
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text)} characters long; the limit is {limit}")
    bad = _bad_chars(text, allow="\n\t")
    if bad:
        raise ValueError(f"{what} holds control or invisible formatting characters ({_describe(bad)}); use plain text")
    return text


def printable(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """A one-line, visibly escaped, length-bounded form of an untrusted string, for messages.

    Control and format characters (and every whitespace but the space) become ``\\uXXXX``; longer text is cut.
    """
    text = value if isinstance(value, str) else str(value)
    text = text[: limit * 4]  # bound the work before escaping
    out = []
    for c in text:
        if c == " " or (not c.isspace() and unicodedata.category(c) not in _REFUSED_CATEGORIES):
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04x}")
    shown = "".join(out)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def rich_escape(value: Any) -> str:
    """Text for a rich renderable that interprets markup: brackets escaped, control characters made visible."""
    from rich.markup import escape

    return escape(printable(value, limit=10_000))


def markdown_escape(value: Any, limit: int = 10_000) -> str:
    """Text for ``st.markdown``: every markdown/HTML special character backslash-escaped, controls made visible.

    Newlines survive (as markdown line breaks) so a description keeps its paragraphs; nothing can become a link,
    an image, HTML or emphasis.
    """
    text = value if isinstance(value, str) else str(value)
    lines = [printable(line, limit=limit) for line in text[:limit].split("\n")]
    return "  \n".join(_MARKDOWN_SPECIAL.sub(r"\\\1", line) for line in lines)


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (strings only; numbers pass unchanged)."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r\n":
        return "'" + value
    return value
