"""What people say in the generated support history (``devtools.history``), in Russian and
English.

The bot's words are its own (bot/domain.yml), and so are the short things customers type to
it, taken from the bot's training examples (bot/data/nlu.yml): greetings, thanks, asking for
a person, complaints. Questions the knowledge base answers come from its articles
(``devtools.history_story``). What is here is what neither has: questions the demo base does
not cover (recurring themes, each asked in several ways and both languages, for the
knowledge-base gaps report to find), what customers tell an agent, what agents answer, and
the comments left with ratings.
"""

import re
from functools import cache
from typing import Any

import yaml

from helpdesk.supervisor import BOT

CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
# The last button of the bot's choice of articles (bot/actions/actions.py, ``_clarify``).
NONE_OF_THESE = {"ru": "Ничего из этого", "en": "None of these"}

Texts = dict[str, list[str]]  # language -> ways of saying it

# Questions the demo knowledge base has no article for: the gaps it should show.
UNCOVERED: dict[str, Texts] = {
    "trade-in": {
        "ru": [
            "У вас есть трейд-ин?",
            "Можно сдать старый телефон в зачёт нового?",
            "хочу сдать старый айфон и купить новый с доплатой",
            "принимаете старые смартфоны в обмен на скидку?",
            "выкупаете ли вы б/у телефоны",
            "сколько дадут за мой старый самсунг при покупке нового",
        ],
        "en": [
            "Do you have a trade-in program?",
            "can I trade in my old phone for a discount on a new one",
            "do you buy used phones",
            "how much would you give me for my old iphone if I buy a new one",
            "trade in old samsung",
        ],
    },
    "crypto": {
        "ru": [
            "Можно оплатить биткоинами?",
            "принимаете криптовалюту?",
            "оплата в USDT возможна?",
            "можно ли заплатить за ремонт криптой",
            "есть оплата биткоином или эфиром?",
        ],
        "en": [
            "can I pay with bitcoin",
            "do you accept crypto payments",
            "is paying in USDT possible",
            "can I pay for the repair in cryptocurrency",
        ],
    },
    "parking": {
        "ru": [
            "Есть ли парковка у сервисного центра?",
            "где можно оставить машину рядом с вами",
            "парковка у вас платная?",
            "можно ли припарковаться возле сервиса на Тверской",
            "есть где встать на машине, когда привезу ноутбук?",
        ],
        "en": [
            "is there parking near the service centre",
            "where can I park when I come to you",
            "is parking free at your service center",
            "can I leave my car next to your shop while I drop off my laptop",
        ],
    },
    "jobs": {
        "ru": [
            "Вы принимаете на работу мастеров?",
            "есть вакансии инженера по ремонту?",
            "как устроиться к вам на работу",
            "ищете сотрудников в сервисный центр?",
            "куда отправить резюме",
        ],
        "en": [
            "are you hiring repair technicians?",
            "do you have any job openings",
            "how can I apply for a job at Volt Service",
            "where do I send my CV",
        ],
    },
    "recycling": {
        "ru": [
            "Куда сдать старый аккумулятор на утилизацию?",
            "вы принимаете технику на утилизацию?",
            "как утилизировать сломанный ноутбук",
            "можно у вас выбросить старые батарейки и телефон",
            "заберёте старый телевизор на переработку?",
        ],
        "en": [
            "do you recycle old electronics",
            "where can I dispose of an old battery",
            "can I drop off a broken laptop for recycling",
            "do you take old phones for recycling",
        ],
    },
    "phone-setup": {
        "ru": [
            "перенесите данные со старого телефона на новый",
            "можете настроить новый телефон и перенести контакты?",
            "помогаете перенести фото и whatsapp на новый смартфон?",
            "сколько стоит настройка нового телефона",
            "не могу сам перенести данные на новый айфон, поможете?",
        ],
        "en": [
            "can you set up my new phone and transfer my contacts",
            "do you help move photos and whatsapp to a new phone",
            "how much do you charge to set up a new smartphone",
            "I can't transfer my data to my new iphone myself, can you help",
        ],
    },
}

# What an agent answers to each uncovered question: the article the gaps report asks for.
UNCOVERED_ANSWERS: Texts = {
    "trade-in": [
        "Программы трейд-ин у нас пока нет, но старое устройство можно продать через "
        "наших партнёров, а новое купить со скидкой по бонусной программе.",
        "We don't have a trade-in programme yet, but you can sell your old device through "
        "our partners and use bonus points towards the new one.",
    ],
    "crypto": [
        "Оплату криптовалютой мы не принимаем: только карты, СБП, наличные в сервисных "
        "центрах и рассрочку.",
        "We don't accept cryptocurrency: cards, the Faster Payments System, cash in our "
        "service centres and instalments only.",
    ],
    "parking": [
        "У всех наших сервисных центров есть городская парковка; первые 15 минут бесплатно, "
        "этого хватает, чтобы сдать или забрать устройство.",
        "There is city parking at all our service centres; the first 15 minutes are free, "
        "enough to drop off or collect a device.",
    ],
    "jobs": [
        "Спасибо за интерес! Вакансии публикуем на hh.ru, резюме можно прислать на "
        "jobs@volt-service.example.",
        "Thank you for your interest! Our openings are on hh.ru; you can send your CV to "
        "jobs@volt-service.example.",
    ],
    "recycling": [
        "Старую технику и аккумуляторы можно бесплатно сдать на утилизацию в любом нашем "
        "сервисном центре: мы передаём их на переработку.",
        "You can drop off old devices and batteries for recycling at any of our service "
        "centres, free of charge.",
    ],
    "phone-setup": [
        "Да, перенесём данные и настроим новый телефон в сервисном центре: 990 ₽, около "
        "30 минут, пароли от аккаунтов понадобятся вам на месте.",
        "Yes, we transfer data and set up new phones at our service centres: 990 RUB, about "
        "30 minutes; you'll need your account passwords there.",
    ],
}

# What a customer tells the agent who has just joined, by the topic's knowledge-base tag.
DETAILS: dict[str, Texts] = {
    "orders": {
        "ru": ["Номер заказа VS-{number}", "заказ VS-{number}, оформляла в понедельник"],
        "en": ["My order number is VS-{number}", "order VS-{number}, placed on Monday"],
    },
    "repair": {
        "ru": ["Квитанция R-{number}, сдавал телефон неделю назад", "номер ремонта R-{number}"],
        "en": ["Repair ticket R-{number}, I dropped the phone off last week", "ticket R-{number}"],
    },
    "payment": {
        "ru": ["Оплачивала картой, заказ VS-{number}", "платёж по заказу VS-{number}"],
        "en": ["I paid by card, order VS-{number}", "the payment for order VS-{number}"],
    },
}

# What an agent says, in order of a conversation; {agent} is their name.
AGENT: dict[str, Texts] = {
    "hello": {
        "ru": [
            "Здравствуйте! Меня зовут {agent}, я прочитал(а) переписку, сейчас разберёмся.",
            "Добрый день! Это {agent} из Volt Service. Минуту, посмотрю.",
        ],
        "en": [
            "Hello! This is {agent}; I've read the conversation, let's sort it out.",
            "Hi, {agent} from Volt Service here. Give me a moment to check.",
        ],
    },
    "ask": {
        "ru": [
            "Подскажите, пожалуйста, номер заказа или квитанции.",
            "Уточните детали, пожалуйста.",
        ],
        "en": ["Could you give me the order or ticket number, please?", "Could you tell me more?"],
    },
    "checked": {
        "ru": [
            "Проверил(а): всё в порядке, изменения уже видны в личном кабинете.",
            "Посмотрел(а) по номеру {number}: передал(а) коллегам, ответ придёт по SMS сегодня.",
        ],
        "en": [
            "I've checked: it's all in order, and you can see the change in your account.",
            "I've looked up {number} and passed it on; you'll get an SMS about it today.",
        ],
    },
    "sorry": {
        "ru": ["К сожалению, в чате это не решить: нужна диагностика в сервисном центре."],
        "en": ["I'm afraid this can't be solved in chat: it needs diagnostics at a centre."],
    },
    "more": {
        "ru": ["Ещё один момент, уточню у коллег и вернусь.", "Сейчас проверю ещё раз."],
        "en": ["One more thing: I'll check with a colleague and come back.", "Let me check again."],
    },
    "transfer": {
        "ru": ["Вопрос по оплате, передаю коллеге.", "Нужен мастер, передаю."],
        "en": ["A payment question, passing it on.", "This needs a technician, passing it on."],
    },
}

# What a customer says to the agent after being helped, or on coming back soon after.
FOLLOW_UP: Texts = {
    "ru": ["понятно, а сколько это займёт?", "а можно побыстрее?", "хорошо, а если не получится?"],
    "en": ["ok, and how long will it take?", "can it be any quicker?", "and if that doesn't work?"],
}
AGAIN: Texts = {
    "ru": ["Извините, забыла спросить ещё одно", "ой, и ещё вопрос по тому же заказу"],
    "en": ["Sorry, I forgot to ask one more thing", "oh, and another question about that"],
}
SPAM: Texts = {
    "ru": [
        "Заработок от 5000 руб в день без вложений! Пиши в телеграм @easy_money",
        "Продвижение сайтов в ТОП-10 Яндекса недорого, звоните",
    ],
    "en": [
        "Earn $500 a day from home, no experience needed, click bit.ly/fast-cash",
        "Cheap SEO services, guaranteed first page on Google",
    ],
}
# Comments left with a rating, by how it went.
COMMENTS: dict[str, Texts] = {
    "agent_good": {
        "ru": ["Быстро и вежливо, спасибо!", "Всё объяснили, проблема решена", "Отличный сервис"],
        "en": ["Quick and polite, thank you!", "Everything explained, problem solved", "Great"],
    },
    "agent_bad": {
        "ru": ["Долго ждала ответа оператора", "Вопрос так и не решили", "Отвечали очень долго"],
        "en": ["Waited ages for a person", "My problem was not solved", "Very slow replies"],
    },
    "bot_good": {
        "ru": ["Бот сразу ответил, удобно", "Нашла ответ за минуту"],
        "en": ["The bot answered right away, handy", "Found the answer in a minute"],
    },
    "bot_bad": {
        "ru": ["Бот не понял вопрос", "Пришлось спрашивать несколько раз"],
        "en": ["The bot didn't understand me", "Had to ask several times"],
    },
}


@cache
def _domain() -> dict[str, Any]:
    return yaml.safe_load((BOT / "domain.yml").read_text(encoding="utf-8"))


def bot_says(response: str, language: str) -> tuple[str, list[dict[str, str]]]:
    """The bot's ``utter_...`` in ``language``, with its buttons, chosen as Rasa chooses:
    the first variant whose condition on the language slot holds, else the one without."""
    for variant in _domain()["responses"][response]:
        conditions = variant.get("condition") or []
        if all(c.get("value") == language for c in conditions):
            buttons = [
                {"title": b["title"], "payload": b["payload"]} for b in variant.get("buttons", [])
            ]
            return variant["text"], buttons
    raise LookupError(f"the bot has no {response} for {language}")


@cache
def _examples() -> dict[str, Texts]:
    """The bot's training examples by intent and language."""
    nlu = yaml.safe_load((BOT / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    result: dict[str, Texts] = {}
    for item in nlu:
        if "intent" not in item:
            continue
        for line in item["examples"].splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text:
                language = "ru" if CYRILLIC.search(text) else "en"
                result.setdefault(item["intent"], {}).setdefault(language, []).append(text)
    return result


def customer_says(intent: str, language: str) -> list[str]:
    """What customers type for ``intent`` (greet, thanks, request_human, complain...)."""
    return _examples()[intent][language]
