"""What the system itself tells customers, in each language the product speaks."""

TEXTS = {
    "queued": {
        "ru": "Передаю разговор сотруднику — он увидит всю переписку, повторять ничего не нужно.",
        "en": "I'm passing you to a person, who will see this whole conversation, so there is no "
        "need to repeat anything.",
    },
    "bot_unavailable": {
        "ru": "Соединяю вас с сотрудником.",
        "en": "Connecting you to a person.",
    },
    "released": {
        "ru": "Разговор передан другому сотруднику.",
        "en": "Your conversation is being passed to another person.",
    },
    "position": {
        "ru": "Вы {position}-й в очереди, ожидание — {wait}.",
        "en": "You are number {position} in the queue; the expected wait is {wait}.",
    },
    "minutes": {"ru": "около {minutes} мин", "en": "about {minutes} min"},
    "under_a_minute": {"ru": "меньше минуты", "en": "less than a minute"},
    "no_agents": {
        "ru": "Сейчас никого из сотрудников нет на месте. Ваш вопрос сохранён вместе со всей "
        "перепиской. Ответить вам позже, когда кто-то появится, или подождёте здесь?",
        "en": "No one from the team is available right now. Your question is saved with this "
        "whole conversation. Shall we reply later, when someone is back, or will you wait here?",
    },
    "closed": {
        "ru": "Сейчас нерабочее время (мы работаем: {hours}). Ваш вопрос сохранён вместе со всей "
        "перепиской. Ответить вам позже, когда мы откроемся, или подождёте здесь?",
        "en": "We are outside working hours right now (we work {hours}). Your question is saved "
        "with this whole conversation. Shall we reply later, when we open, or will you wait "
        "here?",
    },
    "reply_later": {"ru": "Ответьте мне позже", "en": "Reply to me later"},
    "wait": {"ru": "Я подожду", "en": "I'll wait"},
    "reply_later_noted": {
        "ru": "Хорошо: сотрудник ответит здесь, как только появится. Страницу можно закрыть — "
        "ответ будет ждать вас в этом чате.",
        "en": "Noted: a person will answer here as soon as someone is back. You can close this "
        "page; the answer will be waiting for you in this chat.",
    },
    "reply_later_noted_sms": {
        "ru": "Хорошо: сотрудник ответит сюда по SMS, как только появится.",
        "en": "Noted: a person will text you back here as soon as someone is back.",
    },
    "continue_by_sms": {"ru": "Продолжить по SMS", "en": "Continue by SMS"},
    "moved_to_sms": {
        "ru": "Продолжаем по SMS на номер {phone}. Вся переписка сохранена, и здесь тоже.",
        "en": "We'll continue by SMS at {phone}. The whole conversation is kept, here too.",
    },
    "waiting_noted": {
        "ru": "Хорошо, ждём вместе. Вы {position}-й в очереди.",
        "en": "All right, we'll wait together. You are number {position} in the queue.",
    },
    "joined": {
        "ru": "{agent} подключается к разговору.",
        "en": "{agent} has joined the conversation.",
    },
    "resolved": {
        "ru": "Разговор завершён. Если появятся вопросы — просто напишите сюда.",
        "en": "This conversation is resolved. If anything else comes up, just write here.",
    },
    "rate_csat": {
        "ru": "Насколько вы довольны помощью? Ответьте цифрой от 1 (очень недовольны) до 5 "
        "(очень довольны).",
        "en": "How satisfied are you with the help? Reply with a number from 1 (very unhappy) "
        "to 5 (very happy).",
    },
    "rate_ces": {
        "ru": "Насколько легко было получить помощь? От 1 (очень трудно) до 5 (очень легко).",
        "en": "How easy was it to get help? From 1 (very hard) to 5 (very easy).",
    },
    "rated": {"ru": "Спасибо за оценку!", "en": "Thank you for your rating!"},
    "voucher": {
        "ru": "В качестве извинения дарим вам купон: {amount} {currency}. Код: {code}",
        "en": "As an apology, here is a voucher for {amount} {currency}. Code: {code}",
    },
}


def text(key: str, language: str | None, **values: object) -> str:
    variants = TEXTS[key]
    return variants.get(language or "en", variants["en"]).format(**values)


def wait_text(seconds: float, language: str | None) -> str:
    if seconds < 60:
        return text("under_a_minute", language)
    return text("minutes", language, minutes=round(seconds / 60))
