"""What the system itself tells customers, in each language the product speaks."""

TEXTS = {
    "queued": {
        "ru": "Передаю разговор сотруднику — он увидит всю переписку, повторять ничего не нужно. "
        "Вы {position}-й в очереди.",
        "en": "I'm passing you to a person, who will see this whole conversation, so there is no "
        "need to repeat anything. You are number {position} in the queue.",
    },
    "bot_unavailable": {
        "ru": "Соединяю вас с сотрудником. Вы {position}-й в очереди.",
        "en": "Connecting you to a person. You are number {position} in the queue.",
    },
}


def text(key: str, language: str, **values: object) -> str:
    variants = TEXTS[key]
    return variants.get(language, variants["en"]).format(**values)
