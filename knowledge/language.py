"""Which language a customer writes in, including Russian typed in Latin letters.

Script decides most cases: any Cyrillic word makes a message Russian (Russian customers mix in
Latin product names and codes; English-speaking ones do not type Cyrillic). Latin text is
English unless its words are far more common as transliterated Russian ("gde moy zakaz") than
as English; word frequencies come from ``wordfreq``, which ships its tables, so this costs
microseconds and no model.
"""

import re
from dataclasses import dataclass

import cyrtranslit
from wordfreq import zipf_frequency

_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_CYRILLIC_WORD = re.compile(r"[а-яё]{2,}", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
TRANSLIT_MARGIN = 1.0  # mean Zipf points by which Russian must beat English


def is_cyrillic(text: str) -> bool:
    return _CYRILLIC.search(text) is not None


@dataclass(frozen=True)
class DetectedLanguage:
    lang: str  # "ru", "en" or "unknown"
    text: str  # the text to search with: transliterated back to Cyrillic when needed
    transliterated: bool = False


def detect(text: str) -> DetectedLanguage:
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    if cyrillic == 0 and latin == 0:
        return DetectedLanguage("unknown", text)
    if cyrillic >= latin or _CYRILLIC_WORD.search(text):
        return DetectedLanguage("ru", text)
    words = [w.lower() for w in _WORD.findall(text) if _LATIN.match(w)]
    if not words:
        return DetectedLanguage("en", text)
    as_russian = cyrtranslit.to_cyrillic(text, "ru")
    russian_words = [w.lower() for w in _WORD.findall(as_russian)]
    english = sum(zipf_frequency(w, "en") for w in words) / len(words)
    russian = sum(zipf_frequency(w, "ru") for w in russian_words) / max(len(russian_words), 1)
    if russian >= english + TRANSLIT_MARGIN:
        return DetectedLanguage("ru", as_russian, transliterated=True)
    return DetectedLanguage("en", text)
