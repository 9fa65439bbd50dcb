"""SMS text: compliance keywords, GSM-7 typography, numbered options, cutting and phones."""

import pytest

from channels.sms_text import (
    HELP_WORDS,
    START_WORDS,
    STOP_WORDS,
    choice,
    gsm_friendly,
    is_phone,
    keyword,
    mask_phone,
    normalise_phone,
    plain,
    shorten,
    split,
    with_options,
)
from channels.twilio import MAX_BODY, encoding, segments

# --- keyword --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"), [(STOP_WORDS, "stop"), (START_WORDS, "start"), (HELP_WORDS, "help")]
)
def test_every_listed_keyword_in_any_case(words: frozenset[str], expected: str) -> None:
    for word in words:
        for typed in (word, word.lower(), word.title(), f" {word.lower()}. ", f"{word}!"):
            assert keyword(typed) == expected, typed


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", "stop"),
        ("Stop!", "stop"),
        (" stop. ", "stop"),
        ("stop all", "stop"),
        ("Stop  All", "stop"),
        ("opt out", "stop"),
        ("OptOut", "stop"),
        ("unsubscribe", "stop"),
        ("cancel", "stop"),
        ("end", "stop"),
        ("quit", "stop"),
        ("revoke", "stop"),
        ("стоп", "stop"),
        ("СТОП!", "stop"),
        ("Отписаться", "stop"),
        ("отписка", "stop"),
        ("Отпишите.", "stop"),
        ("start", "start"),
        ("Unstop", "start"),
        ("yes", "start"),
        ("Старт", "start"),
        ("подписаться", "start"),
        ("help", "help"),
        ("HELP?", "help"),
        ("info", "help"),
        ("Помощь", "help"),
        ("справка?", "help"),
        ("\n stop \n", "stop"),
    ],
)
def test_keyword(body: str, expected: str) -> None:
    assert keyword(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "stop sending me ads",
        "please stop",
        "don't stop",
        "help me",
        "I need help",
        "yes please",
        "помогите",
        "стоп-кран",
        "stopp",
        "",
        "   ",
        "!!!",
        "СТOП",  # a Latin O among Cyrillic letters: not guessed at
        "2",
    ],
)
def test_not_a_keyword(body: str) -> None:
    assert keyword(body) is None


def test_keyword_sets_do_not_overlap() -> None:
    assert not (STOP_WORDS & START_WORDS or STOP_WORDS & HELP_WORDS or START_WORDS & HELP_WORDS)


# --- gsm_friendly and plain -----------------------------------------------------------------


def test_gsm_friendly_makes_english_typography_gsm7() -> None:
    text = "Your order “VS-123456” ships today — it’s on its way…\u00a0Thanks • Volt"
    assert encoding(text) == "UCS-2"
    friendly = gsm_friendly(text)
    assert friendly == 'Your order "VS-123456" ships today - it\'s on its way... Thanks - Volt'
    assert encoding(friendly) == "GSM-7"
    assert segments(friendly) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Заказ «VS-123456» отправлен — он уже в пути…",
        "Order “VS-1” ships today 👍",  # the emoji keeps it UCS-2 anyway
        "Plain GSM text stays as it is.",
        "",
    ],
)
def test_gsm_friendly_leaves_what_stays_ucs2_or_is_gsm7(text: str) -> None:
    assert gsm_friendly(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In **My orders** or __here__.", "In My orders or here."),
        (
            "See [the guide](https://ex.example/a_b) now",
            "See the guide (https://ex.example/a_b) now",
        ),
        ("[https://ex.example](https://ex.example)", "https://ex.example"),
        ("[Wiki](https://w.example/A_(b))", "Wiki (https://w.example/A_(b))"),
        ("Ways:\n- one;\n- **two**.", "Ways:\n- one;\n- two."),
        ("One.\n\n\n\nTwo.  \n", "One.\n\nTwo."),
        ("  It’s “done” — ok  ", 'It\'s "done" - ok'),
        ("2 ** 3 and snake__case__name", "2 ** 3 and snake__case__name"),
        (
            "В разделе **«Мои заказы»** — [сайт](https://volt.example).",
            "В разделе «Мои заказы» — сайт (https://volt.example).",
        ),
    ],
)
def test_plain(text: str, expected: str) -> None:
    assert plain(text) == expected


# --- with_options and choice ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "language", "expected"),
    [
        (["Yes", "No"], "en", "Is it solved?\n\n1 - Yes\n2 - No\nReply 1 or 2."),
        (
            ["Order", "Refund", "Person"],
            "en",
            "Is it solved?\n\n1 - Order\n2 - Refund\n3 - Person\nReply 1, 2 or 3.",
        ),
        (["Да", "Нет"], "ru", "Is it solved?\n\n1 - Да\n2 - Нет\nОтветьте 1 или 2."),
        (
            ["Заказ", "Возврат", "Сотрудник"],
            "ru",
            "Is it solved?\n\n1 - Заказ\n2 - Возврат\n3 - Сотрудник\nОтветьте 1, 2 или 3.",
        ),
        (["OK"], "en", "Is it solved?\n\n1 - OK\nReply 1."),
        (["OK"], "ru", "Is it solved?\n\n1 - OK\nОтветьте 1."),
        (
            ["A", "B", "C", "D"],
            "de",
            "Is it solved?\n\n1 - A\n2 - B\n3 - C\n4 - D\nReply 1, 2, 3 or 4.",
        ),
        ([], "en", "Is it solved?"),
    ],
)
def test_with_options(options: list[str], language: str, expected: str) -> None:
    assert with_options("Is it solved?", options, language) == expected


def test_with_options_keeps_english_gsm7() -> None:
    assert encoding(with_options("Did that help?", ["Yes", "No"], "en")) == "GSM-7"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("1", 0),
        ("2", 1),
        ("2.", 1),
        ("2)", 1),
        (" 2 ", 1),
        ("#2", 1),
        ("3", 2),
        ("yes", 0),
        ("YES!", 0),
        ("  No. ", 1),
        ("talk to a person", 2),
        ("0", None),
        ("4", None),
        ("-1", None),
        ("12", None),
        ("2 please", None),
        ("maybe", None),
        ("", None),
    ],
)
def test_choice(body: str, expected: int | None) -> None:
    assert choice(body, ["Yes", "No", "Talk to a person"]) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [("да", 0), ("Да!", 0), ("«нет»", 1), ("еще вопрос", 2), ("2", 1), ("да нет", None)],
)
def test_choice_russian_titles(body: str, expected: int | None) -> None:
    assert choice(body, ["Да", "Нет", "Ещё вопрос"]) == expected


def test_choice_without_options() -> None:
    assert choice("1", []) is None


# --- shorten --------------------------------------------------------------------------------

RUSSIAN_ANSWER = (
    "Заказ можно отменить бесплатно, пока он не передан в доставку, — в личном кабинете "
    "в разделе «Мои заказы» или через поддержку. Если заказ уже отправлен, отменить его "
    "не получится: откажитесь от него при получении или оформите возврат. Если заказ был "
    "оплачен, деньги вернутся тем же способом, которым вы платили, обычно за 3–10 дней. "
    "Подробности о сроках возврата денег и о том, как оформить возврат, смотрите на сайте."
)
LINK = "https://volt.example/kb/order-cancel"


def test_shorten_russian_answer_fits_two_segments_with_link() -> None:
    assert len(RUSSIAN_ANSWER) >= 400
    result = shorten(RUSSIAN_ANSWER, LINK, 2, "ru")
    assert segments(result) <= 2
    assert result.endswith(f"…\nПодробнее: {LINK}")
    kept = result.removesuffix(f"…\nПодробнее: {LINK}")
    assert RUSSIAN_ANSWER.startswith(kept)
    assert RUSSIAN_ANSWER[len(kept)] in " .,"  # cut between words, never inside one


def test_shorten_cuts_at_a_sentence_end() -> None:
    first = "First sentence is here. Second one follows it, a little longer than the first."
    text = f"{first} Then comes the third, " + "and many more words " * 20
    result = shorten(text, None, 1, "en")
    assert result == first.removesuffix(".") + "..."
    assert encoding(result) == "GSM-7"


def test_shorten_cuts_between_words_when_the_sentence_would_waste_the_budget() -> None:
    text = "Short. " + "word " * 100
    result = shorten(text, "https://ex.example/a", 1, "en")
    assert result.endswith("...\nMore: https://ex.example/a")
    assert segments(result) == 1
    assert len(result) > 120
    assert result.startswith("Short. word word")


@pytest.mark.parametrize(("text", "link"), [("Short answer.", LINK), ("Короткий ответ.", None)])
def test_shorten_leaves_what_fits(text: str, link: str | None) -> None:
    assert shorten(text, link, 1, "en") is text


def test_shorten_english_suffix() -> None:
    result = shorten("Please read this. " * 30, LINK, 2, "en")
    assert result.endswith(f"...\nMore: {LINK}")
    assert segments(result) <= 2


@pytest.mark.parametrize("max_segments", [1, 2, 3, 5])
@pytest.mark.parametrize("language", ["ru", "en"])
def test_shorten_never_exceeds_the_budget(max_segments: int, language: str) -> None:
    for text in (RUSSIAN_ANSWER * 3, "Read the manual, then call us. " * 40, "x" * 1000):
        result = shorten(text, LINK, max_segments, language)
        assert segments(result) <= max_segments
        assert result.endswith(LINK)


def test_shorten_drops_a_link_that_cannot_fit() -> None:
    long_link = "https://ex.example/" + "a" * 200
    result = shorten("word " * 100, long_link, 1, "en")
    assert long_link not in result
    assert segments(result) == 1
    assert result.endswith("...")


def test_shorten_cuts_inside_a_single_overlong_word() -> None:
    result = shorten("x" * 500, None, 1, "en")
    assert result == "x" * 157 + "..."


def test_shorten_rejects_no_budget() -> None:
    with pytest.raises(ValueError):
        shorten("text", None, 0, "en")


# --- split ----------------------------------------------------------------------------------


def _sentences(count: int) -> str:
    return " ".join(f"Sentence number {n} says something useful." for n in range(count))


def test_split_long_text_keeps_every_word() -> None:
    text = "\n\n".join(_sentences(12) for _ in range(9))
    assert len(text) >= 4000
    parts = split(text)
    assert len(parts) >= 3
    assert all(0 < len(part) <= MAX_BODY for part in parts)
    assert " ".join(parts).split() == text.split()
    assert all(part == part.strip() for part in parts)


def test_split_prefers_paragraphs_then_sentences() -> None:
    paragraph = _sentences(5)
    text = f"{paragraph}\n\n{paragraph}"
    assert split(text, len(paragraph) + 10) == [paragraph, paragraph]
    parts = split(_sentences(30), 300)
    assert all(part.endswith(".") for part in parts)


def test_split_at_spaces_then_hard() -> None:
    parts = split("word " * 100, 42)
    assert all(len(part) <= 42 for part in parts)
    assert all(set(part.split()) == {"word"} for part in parts)
    assert split("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


@pytest.mark.parametrize("text", ["", "short", "x" * MAX_BODY, " padded "])
def test_split_short_text_is_one_part(text: str) -> None:
    assert split(text) == [text]


def test_split_russian() -> None:
    text = "Это первое предложение ответа. " * 200
    parts = split(text)
    assert all(len(part) <= MAX_BODY for part in parts)
    assert " ".join(parts).split() == text.split()


# --- phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+79991234567", "+79991234567"),
        ("+7 (999) 123-45-67", "+79991234567"),
        ("8 999 123 45 67", "+79991234567"),
        ("8 (999) 123-45-67", "+79991234567"),
        ("79991234567", "+79991234567"),
        ("  +7\u00a0999\u00a0123–45–67 ", "+79991234567"),
        ("+1 415 867 5309", "+14158675309"),
        ("+1 (415) 867-5309", "+14158675309"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49.30.1234567", "+49301234567"),
    ],
)
def test_normalise_phone(typed: str, expected: str) -> None:
    assert normalise_phone(typed) == expected
    assert is_phone(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "123",
        "abc",
        "+0123456789",
        "",
        "+",
        "+1234567",  # 7 digits: too short for E.164 here
        "+1234567890123456",  # 16 digits
        "9991234567",  # no country code
        "14158675309",  # a country code needs its "+"
        "+7 999 123 45 6",  # +7 numbers have ten digits after the 7
        "+7 999 123 45 678",
        "++79991234567",
        "+7 999 123 45 67 ext 2",
        "+7 999 123 45 67a",
        "٨٩٩٩١٢٣٤٥٦٧",  # digits of another script
    ],
)
def test_not_a_phone(typed: str) -> None:
    assert normalise_phone(typed) is None
    assert not is_phone(typed)


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+79991234567", "+7 999 ***-**-67"),
        ("8 999 123 45 67", "+7 999 ***-**-67"),
        ("+14158675309", "+141******09"),
        ("+442079460958", "+442*******58"),
        ("123", "***"),
    ],
)
def test_mask_phone(phone: str, expected: str) -> None:
    assert mask_phone(phone) == expected
