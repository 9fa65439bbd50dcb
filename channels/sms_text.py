"""What the chat shows, made to fit an SMS; and what a texter's reply means.

SMS is not a small chat window, and three of its rules shape every function here:

- It is billed per segment. GSM-7 text fits 160 characters in one segment (153 per part when
  split), but a single character outside that alphabet (a curly quote, an em dash) turns the
  whole message into UCS-2: 70 characters, 67 per part. So English text is rewritten with plain
  look-alikes, long answers are cut to a segment budget, and counting is always done on the
  final string by ``channels.twilio.segments``.
- Cyrillic is UCS-2 whatever we do, so Russian text keeps its typography («ёлочки», dashes):
  replacing them would cost the reader and save nothing.
- There are no buttons and no formatting: quick replies become numbered options the texter
  answers with a digit, and markdown the chat renders would arrive as stray asterisks.

Carriers also expect STOP/START/HELP keywords to be honoured; ``keyword`` recognises them.
Every customer-facing text exists in Russian ("ru") and English (any other language).
"""

import re
from collections.abc import Iterable
from typing import Literal

from channels.twilio import MAX_BODY, encoding, segments

# --- Compliance keywords --------------------------------------------------------------------

# Shown to people in docs, hence upper case; matching ignores case.
STOP_WORDS = frozenset(
    {
        *("STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE"),
        *("OPTOUT", "OPT OUT", "СТОП", "ОТПИСАТЬСЯ", "ОТПИСКА", "ОТПИШИТЕ"),
    }
)
START_WORDS = frozenset({"START", "UNSTOP", "YES", "СТАРТ", "ПОДПИСАТЬСЯ"})
HELP_WORDS = frozenset({"HELP", "INFO", "ПОМОЩЬ", "СПРАВКА"})

_KEYWORDS: dict[str, Literal["stop", "start", "help"]] = {
    **{word.casefold(): "stop" for word in STOP_WORDS},
    **{word.casefold(): "start" for word in START_WORDS},
    **{word.casefold(): "help" for word in HELP_WORDS},
}

# Punctuation, symbols, emoji and spaces around a reply ("Stop!", " 2) ", "«Да»").
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def _normal(reply: str) -> str:
    """A reply reduced to what a person meant to type: no edge punctuation, case or spacing."""
    return " ".join(_EDGES.sub("", reply).split()).casefold().replace("ё", "е")


def keyword(body: str) -> Literal["stop", "start", "help"] | None:
    """The compliance keyword a message is, if the whole message is one.

    Only a message that is the keyword alone counts: "please stop" or "stop sending me ads" are
    a conversation the support team should read, not an opt-out. Russian keywords must be typed
    in Cyrillic; look-alike Latin letters are not guessed at.
    """
    return _KEYWORDS.get(_normal(body))


# --- Typography and markdown ----------------------------------------------------------------

# Typographic characters with GSM-7 look-alikes, as Twilio's "smart encoding" replaces them.
_LOOK_ALIKES = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "—": "-",
        "–": "-",
        "‑": "-",  # non-breaking hyphen
        "−": "-",  # minus sign
        "•": "-",
        "…": "...",
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space
        "\u2009": " ",  # thin space
    }
)


def gsm_friendly(text: str) -> str:
    """The text with plain look-alikes for typography, when that makes all of it GSM-7.

    One curly quote is enough to bill a whole English message at 70 characters a segment
    instead of 160. Text that stays UCS-2 anyway (Cyrillic, emoji) is returned as it is: the
    replacement would only make it look worse.
    """
    replaced = text.translate(_LOOK_ALIKES)
    return replaced if encoding(replaced) == "GSM-7" else text


# Markers must hug their words, so "2 ** 3" or "snake__case" are left alone.
_BOLD = re.compile(
    r"(?<![\w*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])"
    r"|(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"
)
# A link target may hold one level of balanced parentheses (Wikipedia-style URLs).
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def plain(text: str) -> str:
    """Chat markdown as plain SMS text; "- " list lines are kept since they read fine as is."""
    text = _BOLD.sub(lambda match: match[1] or match[2], text)
    text = _LINK.sub(_link_text, text)
    text = _TRAILING_SPACE.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return gsm_friendly(text.strip())


def _link_text(match: re.Match[str]) -> str:
    """``label (url)``; just the URL when the label is the URL, to spend no segment twice."""
    label, url = match[1], match[2]
    return url if label.strip() == url else f"{label} ({url})"


# --- Quick replies --------------------------------------------------------------------------


def with_options(text: str, options: list[str], language: str) -> str:
    """The text with quick-reply buttons as numbered lines, since SMS has no buttons.

    Digits are quicker to type on a phone than titles, and ``choice`` reads either. A plain
    hyphen keeps English text in GSM-7.
    """
    if not options:
        return text
    lines = "\n".join(f"{number} - {title}" for number, title in enumerate(options, 1))
    numbers = [str(number) for number in range(1, len(options) + 1)]
    russian = language == "ru"
    listed = numbers[0]
    if len(numbers) > 1:
        listed = f"{', '.join(numbers[:-1])} {'или' if russian else 'or'} {numbers[-1]}"
    prompt = f"{'Ответьте' if russian else 'Reply'} {listed}."
    return "\n\n".join(block for block in (text, f"{lines}\n{prompt}") if block)


_NUMBER = re.compile(r"#?\s*([0-9]+)\s*[.)]?")


def choice(body: str, options: list[str]) -> int | None:
    """The 0-based index of the option a reply picks, or None when it picks none.

    A number is read first, because that is what the message asked for; then a title typed out
    (ignoring case, "ё", and punctuation around it). Anything else is a question for the bot.
    """
    number = _NUMBER.fullmatch(body.strip())
    if number:
        index = int(number[1]) - 1
        if 0 <= index < len(options):
            return index
    typed = _normal(body)
    if not typed:
        return None
    titles = [_normal(option) for option in options]
    return titles.index(typed) if typed in titles else None


# --- Long texts -----------------------------------------------------------------------------

# Where a part may end: group 1 is the whitespace the cut replaces.
_PARAGRAPH_END = re.compile(r"(\n)[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*(\s)")
_LINE_END = re.compile(r"(\n)")
_SPACE = re.compile(r"(\s)")
# What a cut-off text may not end with before its ellipsis.
_DANGLING = " \t\n.,;:-–—…"


def _cuts(text: str, pattern: re.Pattern[str]) -> list[int]:
    """Positions where ``text`` may be cut, ascending; the text before each is a whole unit."""
    return [match.start(1) for match in pattern.finditer(text) if match.start(1) > 0]


def shorten(text: str, link: str | None, max_segments: int, language: str) -> str:
    """An answer cut to ``max_segments`` segments, ending with "…" and a link to the rest.

    Counted on the final string, suffix included, so the result never costs more than the
    budget. A cut after a whole sentence reads best and is taken when it keeps at least a third
    of what a cut between words would; otherwise the cut is between words (inside a word only
    when a single word overflows). A link that leaves no room for even the ellipsis is dropped.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    if segments(text) <= max_segments:
        return text
    more = "Подробнее" if language == "ru" else "More"
    tail = f"\n{more}: {link}" if link else ""
    if segments(_ending("", tail)) > max_segments:
        tail = ""

    # A segment holds at most 160 characters, so longer cuts need not be counted.
    room = max_segments * 160

    def longest(cuts: Iterable[int]) -> int:
        """The longest cut that fits, or 0; counting from the longest stops at the first fit."""
        for cut in sorted(set(cuts), reverse=True):
            kept = text[:cut].rstrip(_DANGLING)
            if len(kept) <= room and segments(_ending(kept, tail)) <= max_segments:
                return cut
        return 0

    words = longest(_cuts(text, _SPACE))
    sentences = longest(_cuts(text, _SENTENCE_END) + _cuts(text, _LINE_END))
    if sentences and sentences * 3 >= words:
        cut = sentences
    else:
        cut = words or longest(range(1, min(len(text), room + 1)))
    return _ending(text[:cut], tail)


def _ending(kept: str, tail: str) -> str:
    """Cut-off text with its ellipsis and tail; "..." rather than "…" when that keeps GSM-7."""
    return gsm_friendly(f"{kept.rstrip(_DANGLING)}…{tail}")


def split(text: str, max_chars: int = MAX_BODY) -> list[str]:
    """A long message as several SMS bodies of at most ``max_chars`` characters each.

    Twilio refuses bodies over 1600 characters, and an agent's reply must arrive whole. Each
    part ends at the last paragraph break, else sentence end, that keeps at least a third of
    ``max_chars`` (so parts are not needlessly many), else at the last space; only a run of
    ``max_chars`` characters without one is cut inside.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    if len(text) <= max_chars:
        return [text]
    parts = []
    rest = text
    while len(rest) > max_chars:
        window = rest[: max_chars + 1]  # whitespace right after a full part is a fine cut
        cut = next(
            (
                cuts[-1]
                for pattern in (_PARAGRAPH_END, _SENTENCE_END)
                if (cuts := _cuts(window, pattern)) and cuts[-1] * 3 >= max_chars
            ),
            None,
        )
        if cut is None:
            spaces = _cuts(window, _SPACE)
            cut = spaces[-1] if spaces else max_chars
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    parts.append(rest)
    return [part for part in parts if part]


# --- Phone numbers --------------------------------------------------------------------------

# What people put between digits: spaces (no-break ones too), brackets, dashes, dots.
_PHONE_SEPARATORS = re.compile(r"[\s().\-–—]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def normalise_phone(value: str) -> str | None:
    """A phone number as a customer types it, in E.164 ("+79991234567"); None if it is none.

    Without a "+" only the Russian habits are understood: the trunk prefix 8 or a bare 7 before
    ten digits. Other numbers need their country code, as a guessed one would text a stranger.
    Country code 7 (Russia, Kazakhstan) always has ten digits after it, which is checked; other
    countries only get E.164's 8 to 15 digits. Full validation per country would need Google's
    libphonenumber (``phonenumbers`` on PyPI), a dependency this check does not justify.
    """
    compact = _PHONE_SEPARATORS.sub("", value)
    if re.fullmatch(r"[78][0-9]{10}", compact):
        compact = "+7" + compact[1:]
    if not _E164.fullmatch(compact):
        return None
    if compact.startswith("+7") and len(compact) != 12:
        return None
    return compact


def is_phone(value: str) -> bool:
    """Whether ``value`` reads as a phone number ``normalise_phone`` can put in E.164."""
    return normalise_phone(value) is not None


def mask_phone(phone: str) -> str:
    """A phone number safe to show or log: enough to recognise one's own, not to dial it.

    "+79991234567" becomes "+7 999 ***-**-67" (the operator code and the last two digits);
    other numbers keep their first four characters and last two digits.
    """
    number = normalise_phone(phone) or phone.strip()
    if number.startswith("+7") and len(number) == 12:
        return f"+7 {number[2:5]} ***-**-{number[-2:]}"
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]
