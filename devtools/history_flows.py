"""Who writes to the help desk, when, and how each conversation goes: the generated history's
plot (``devtools.history`` writes it down).

Customers write more on weekdays and in the daytime (local time, ``settings.timezone``). Most
ask a question the demo knowledge base answers, in its own words; some ask what it does not
cover. The bot's decisions are the real search's, on the real base: an answer, a choice of
articles, or none. Customers confirm an answer helped, say it did not, or go quiet; after two
failures the bot offers a person. Over the weeks answers help more often and fewer questions
fall outside the base, so self-service improves. People work in shifts with their own speed
and ratings; at night no one is on shift, so customers ask for a later reply and the first
response misses its target. A few customers leave the queue, come back, reopen a conversation
or send spam. All draws come from one seeded ``random.Random``.
"""

import random
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from devtools.history_story import Story, iso, random_uuid
from devtools.history_texts import (
    AGAIN,
    AGENT,
    COMMENTS,
    DETAILS,
    FOLLOW_UP,
    NONE_OF_THESE,
    SPAM,
    UNCOVERED,
    UNCOVERED_ANSWERS,
    bot_says,
    customer_says,
)
from escalation.models import State
from escalation.queue import QueuePolicy, priority
from escalation.texts import text as desk_text
from escalation.texts import wait_text
from helpdesk.demo import DEMO_CANNED
from helpdesk.settings import Settings
from knowledge import KnowledgeBase, SearchResult
from knowledge.articles import Article
from knowledge.base import DEMO
from knowledge.loaders import load_articles

# Relative demand by local hour (0-23) and weekday (Monday first).
HOURLY = (0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.2, 0.45, 0.8, 1.1, 1.3, 1.4,
          1.35, 1.3, 1.25, 1.2, 1.15, 1.1, 1.05, 1.1, 1.2, 1.0, 0.7, 0.35)  # fmt: skip
DAILY = (1.15, 1.05, 1.0, 1.0, 0.95, 0.7, 0.6)
ANYTHING_ELSE = {language: text for title, language, text in DEMO_CANNED
                 if title in ("Anything else?", "Что-то ещё?")}  # fmt: skip
DETAIL_TOPICS = ("orders", "repair", "payment")  # an agent asks for a number first
RETURN_WITHIN = timedelta(days=14)  # a returning customer is one seen this recently


@dataclass(frozen=True)
class Member:
    """One of the demo team, and how they work."""

    username: str
    name: str  # for the demo agents made here; the demo accounts keep their own
    languages: tuple[str, ...]
    tags: tuple[str, ...]
    days: tuple[int, ...]  # weekdays on shift, Monday 0
    hours: tuple[int, int]  # local hours on shift, [from, to)
    first_reply_s: float  # mean time to the first reply once they have it
    turn_s: float  # mean time to each later reply
    csat: float  # added to the mean rating of their conversations
    share: float = 1.0  # how much of the work on shift they take


WEEK, WORKDAYS, TUE_SAT = tuple(range(7)), tuple(range(5)), (1, 2, 3, 4, 5)
TEAM = (
    Member("agent", "Anna", ("ru", "en"), ("orders", "delivery"), WORKDAYS, (9, 18), 30, 70, 0.3),
    Member("manager", "Mark", ("ru", "en"), (), WORKDAYS, (10, 17), 80, 140, 0.0, share=0.3),
    Member("demo-olga", "Olga", ("ru",), ("repair", "warranty"), WORKDAYS, (12, 21), 25, 60, 0.4),
    Member("demo-ivan", "Ivan", ("ru", "en"), ("payment",), (5, 6, 0, 1), (9, 21), 90, 190, -0.4),
    Member("demo-sofia", "Sofia", ("en", "ru"), ("returns",), TUE_SAT, (9, 18), 45, 90, 0.1),
    Member("demo-pavel", "Pavel", ("ru", "en"), ("repair",), WEEK, (17, 24), 50, 110, -0.2),
)  # fmt: skip


@dataclass(frozen=True)
class Worker:
    """A team member with the account they work under."""

    member: Member
    id: str
    name: str


@dataclass(frozen=True)
class Need:
    """What a customer wants: the ways they ask it, and the answer."""

    texts: tuple[str, ...]
    group: str | None  # the knowledge base's article group that answers it; None: none does
    tags: tuple[str, ...]
    answer: str  # what an agent answers


@dataclass
class Customer:
    id: str
    channel: str
    language: str
    created: datetime
    vip: bool = False
    phone: str | None = None
    last: Story | None = None
    last_end: datetime | None = None


@dataclass
class Dialogue:
    """What the bot keeps about a conversation (its slots): attempts and failures."""

    need: Need
    attempts: list[dict] = field(default_factory=list)
    failures: int = 0


class History:
    """Conversations in order of creation, each told to its end (``stories``)."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        settings: Settings,
        workers: list[Worker],
        seed: int,
        start: datetime,
        end: datetime,
    ):
        self.rng = random.Random(seed)
        self.knowledge, self.settings, self.workers = knowledge, settings, workers
        self.start, self.end = start, end
        self.zone = ZoneInfo(settings.timezone)
        self.policy = QueuePolicy.from_settings(settings)
        self.customers: list[Customer] = []  # in order of their first conversation
        self.by_id: dict[str, Customer] = {}
        self.last_assigned: dict[str, datetime] = {}
        self._since: list[datetime] = []  # when each customer first wrote, in order
        self._phones: set[str] = set()
        self._articles: dict[str, dict] = {}
        self._results: dict[str, SearchResult] = {}
        self._articles_by_group()

    def _articles_by_group(self) -> None:
        """The demo base's articles by group and language, groups in order of popularity."""
        self.groups: dict[str, dict[str, Article]] = {}
        for article in load_articles([DEMO]):
            if article.published:
                self.groups.setdefault(article.group, {})[article.lang] = article
        self.group_of = {a.id: g for g, by in self.groups.items() for a in by.values()}
        self.popular = sorted(self.groups)
        self.rng.shuffle(self.popular)
        self.popularity = [1 / (rank + 1) ** 0.9 for rank in range(len(self.popular))]

    def search(self, text: str) -> SearchResult:
        """What the base decides for a question (each asked once: search is deterministic)."""
        if text not in self._results:
            self._results[text] = self.knowledge.search(text)
        return self._results[text]

    def article(self, article_id: str) -> dict:
        """An article as the bot gets it from the base (each read once)."""
        if article_id not in self._articles:
            self._articles[article_id] = self.knowledge.article(article_id)
        return self._articles[article_id]

    # -- the whole history ---------------------------------------------------------------------
    def stories(self, count: int, messages: int | None = None) -> Iterator[Story]:
        """About ``count`` conversations created in ``[start, end)``, each once it is over;
        one still going on at ``end`` is left out, so nothing is left waiting for a person.
        ``messages``: about this many messages in all (people's conversations get longer or
        shorter to match); otherwise as many as the conversations take."""
        written = 0
        for number, created in enumerate(self._moments(count)):
            debt = 0 if messages is None else messages * number / count - written
            customer, previous = self._customer(created)
            story = self._story(customer, created, previous, rounds=max(0, round(debt / 2)))
            if story.at > self.end:
                continue
            self._keep(story, customer, previous, created)
            written += len(story.messages)
            yield story

    def _moments(self, count: int) -> list[datetime]:
        """Creation times, by the hour's and the weekday's demand, growing a little."""
        hours, weights = [], []
        moment = self.start.replace(minute=0, second=0, microsecond=0)
        while moment < self.end:
            local = moment.astimezone(self.zone)
            hours.append(moment)
            weights.append(
                HOURLY[local.hour] * DAILY[local.weekday()] * (1 + 0.2 * self._t(moment))
            )
            moment += timedelta(hours=1)
        chosen = self.rng.choices(hours, weights, k=count)
        moments = (hour + timedelta(seconds=self.rng.uniform(0, 3600)) for hour in chosen)
        return sorted(m for m in moments if self.start <= m < self.end)

    def _t(self, moment: datetime) -> float:
        """How far into the history: 0 at its start, 1 at its end."""
        return (moment - self.start) / (self.end - self.start)

    def _customer(self, created: datetime) -> tuple[Customer, Story | None]:
        """A customer seen in the last two weeks coming back (more often when it did not go
        well), or a new one. A returning customer's finished conversation is followed on."""
        rng = self.rng
        recent = bisect_left(self._since, created - RETURN_WITHIN)
        if recent < len(self.customers) and rng.random() < 0.25:
            customer = self.customers[rng.randrange(recent, len(self.customers))]
            last = customer.last
            went_well = last is not None and last.row.get("resolution_code") in ("bot", "solved")
            window = timedelta(minutes=self.settings.reopen_window_minutes)
            over = last is not None and last.state in (State.RESOLVED, State.CLOSED)
            if (
                over
                and customer.last_end + window < created
                and (not went_well or rng.random() < 0.5)
            ):
                return customer, last
        return self._new_customer(created), None

    def _new_customer(self, created: datetime) -> Customer:
        rng = self.rng
        channel = "sms" if rng.random() < 0.25 else "web"
        language = "ru" if rng.random() < (0.85 if channel == "sms" else 0.68) else "en"
        customer = Customer(
            id=random_uuid(rng), channel=channel, language=language, created=created,
            vip=rng.random() < 0.03,
        )  # fmt: skip
        while channel == "sms" and customer.phone in (None, *self._phones):
            customer.phone = f"+7999{rng.randrange(10**7):07d}"
        return customer

    def _keep(
        self, story: Story, customer: Customer, previous: Story | None, created: datetime
    ) -> None:
        """The conversation happened: the customer's earlier one is closed by it (the
        customer wrote after its reopen window), and the customer is known from now on."""
        if previous is not None and previous.state == State.RESOLVED:
            previous.at = created
            previous.move(State.CLOSED, {"by": "new_message"})
        if customer.last is None:
            self.customers.append(customer)
            self.by_id[customer.id] = customer
            self._since.append(customer.created)
            if customer.phone:
                self._phones.add(customer.phone)
        customer.last, customer.last_end = story, story.at

    # -- one conversation ----------------------------------------------------------------------
    def _story(
        self, customer: Customer, created: datetime, previous: Story | None, rounds: int
    ) -> Story:
        rng, t = self.rng, self._t(created)
        story = Story(rng, customer.id, customer.channel, customer.language, created,
                      previous.id if previous else None)  # fmt: skip
        if customer.vip:
            story.row["metadata"]["vip"] = True
        dialogue = Dialogue(self._need(customer.language, t))
        opening = rng.random()
        if opening < 0.012:
            story.later(1)
            story.customer(rng.choice(SPAM[story.language]), "request_human")
            self._to_person(story, customer, dialogue, "customer_asked", rounds, spam=True)
        elif opening < 0.05:
            self._straight_to_person(story, customer, dialogue, "complain", "angry", rounds)
        elif opening < 0.10:
            reason = "customer_asked"
            self._straight_to_person(story, customer, dialogue, "request_human", reason, rounds)
        else:
            if opening > 0.85:
                self._greeting(story)
            self._with_bot(story, customer, dialogue, rounds, t)
        return story

    def _need(self, language: str, t: float) -> Need:
        rng = self.rng
        if rng.random() < 0.22 - 0.1 * t:
            theme = rng.choice(sorted(UNCOVERED))
            answer = UNCOVERED_ANSWERS[theme][0 if language == "ru" else 1]
            return Need(tuple(UNCOVERED[theme][language]), None, ("other",), answer)
        group = rng.choices(self.popular, self.popularity)[0]
        by_language = self.groups[group]
        article = by_language.get(language) or next(iter(by_language.values()))
        return Need(tuple(article.texts), group, tuple(article.tags), article.answer)

    def _greeting(self, story: Story) -> None:
        story.later(1)
        story.customer(self.rng.choice(customer_says("greet", story.language)), "greet")
        story.later(self.rng.uniform(0.3, 1.5))
        story.say("bot", *bot_says("utter_greet", story.language))

    # -- with the bot --------------------------------------------------------------------------
    def _with_bot(
        self, story: Story, customer: Customer, dialogue: Dialogue, rounds: int, t: float
    ) -> None:
        """Questions and answers until the customer is helped, goes quiet, leaves, or is
        handed over; then what follows (a reopen, a rating)."""
        rng = self.rng
        texts = list(dialogue.need.texts)
        rng.shuffle(texts)
        while True:
            story.later(rng.uniform(6, 45))
            query = texts[(len(dialogue.attempts)) % len(texts)]
            story.customer(query, "ask_question")
            story.later(rng.uniform(0.4, 1.8))
            reaction = self._attempt(story, dialogue, query, t)
            if reaction in ("helped", "quiet"):
                return self._bot_resolved(story, customer, reaction, rounds, t)
            next_step = self._failed(story, dialogue)
            if next_step == "left":
                return None
            if next_step != "rephrase":
                return self._to_person(story, customer, dialogue, next_step, rounds)

    def _attempt(self, story: Story, dialogue: Dialogue, query: str, t: float) -> str:
        """What the bot does with a question, and how the customer takes it: helped, quiet,
        or failed (no answer, a wrong one, or none of the offered articles)."""
        result = self.search(query)
        if result.decision == "answer":
            hit = result.hits[0]
            return self._answer(story, dialogue, query, hit.id, hit.score, t)
        if result.decision == "clarify":
            return self._clarify(story, dialogue, query, result.hits[:3], t)
        attempt = {"query": query, "decision": "fallback", "reaction": None}
        dialogue.attempts.append(attempt)
        story.annotate("bot_outcome", _outcome(attempt))
        return "failed"

    def _answer(
        self, story: Story, dialogue: Dialogue, query: str, article_id: str, score: float, t: float
    ) -> str:
        rng, language = self.rng, story.language
        article = self.article(article_id)
        story.say("bot", article["answer"], metadata={"article_id": article_id})
        story.later(0.05)
        question, buttons = bot_says("utter_did_it_help", language)
        story.say("bot", question, buttons)
        attempt = {
            "query": query, "decision": "answer", "article_id": article_id,
            "question": article["question"], "score": score, "reaction": None,
            "tags": article["tags"],
        }  # fmt: skip
        dialogue.attempts.append(attempt)
        right = self.group_of.get(article_id) == dialogue.need.group
        weights = (0.5 + 0.25 * t, 0.35 - 0.25 * t, 0.15) if right else (0, 0.8, 0.2)
        reaction = rng.choices(["helped", "did_not_help", "quiet"], weights)[0]
        if reaction == "quiet":
            return reaction
        story.later(rng.uniform(5, 60))
        yes = reaction == "helped"
        story.press(buttons, 0 if yes else 1, "affirm" if yes else "deny")
        attempt["reaction"] = reaction
        story.later(rng.uniform(0.3, 1.2))
        story.annotate("bot_outcome", _outcome(attempt))
        if yes:
            story.say("bot", *bot_says("utter_glad", language))
            return reaction
        return "failed"

    def _clarify(self, story: Story, dialogue: Dialogue, query: str, hits: list, t: float) -> str:
        """A choice of articles: the customer picks the one they meant, or none of them."""
        language = story.language
        buttons = [{"title": h.question, "payload": f'/choose_article{{"article_id": "{h.id}"}}'}
                   for h in hits]  # fmt: skip
        buttons.append({"title": NONE_OF_THESE[language], "payload": "/deny"})
        story.say("bot", bot_says("utter_clarify", language)[0], buttons)
        candidates = [{"article_id": h.id, "question": h.question, "score": h.score} for h in hits]
        attempt = {
            "query": query,
            "decision": "clarify",
            "reaction": None,
            "candidates": candidates,
        }
        dialogue.attempts.append(attempt)
        story.later(self.rng.uniform(5, 30))
        meant = [i for i, h in enumerate(hits) if self.group_of.get(h.id) == dialogue.need.group]
        if meant:
            story.press(buttons, meant[0], "choose_article")
            attempt["reaction"] = f"chose {hits[meant[0]].id}"
            story.later(self.rng.uniform(0.4, 1.5))
            return self._answer(story, dialogue, query, hits[meant[0]].id, hits[meant[0]].score, t)
        story.press(buttons, len(buttons) - 1, "deny")
        attempt["reaction"] = "did_not_help"
        story.later(self.rng.uniform(0.3, 1.2))
        story.annotate("bot_outcome", _outcome(attempt))
        return "failed"

    def _failed(self, story: Story, dialogue: Dialogue) -> str:
        """One more failure: the bot asks again, or after two offers a person. What the
        customer does next: rephrase, a reason to hand over, or left."""
        rng, language = self.rng, story.language
        dialogue.failures += 1
        no_answer = dialogue.attempts[-1]["decision"] == "fallback"
        if dialogue.failures < 2:
            story.say("bot", bot_says("utter_rephrase" if no_answer else "utter_sorry_rephrase",
                                      language)[0])  # fmt: skip
            choice = rng.random()
            if choice < 0.6:
                return "rephrase"
            if choice < 0.8:
                return "left"
            story.later(rng.uniform(5, 30))
            story.customer(rng.choice(customer_says("request_human", language)), "request_human")
            return "customer_asked"
        text, buttons = bot_says("utter_offer_human", language)
        story.say("bot", text, buttons)
        story.later(rng.uniform(4, 30))
        if rng.random() < 0.8:
            story.press(buttons, 0, "affirm")
            return "bot_could_not_help"
        story.press(buttons, 1, "deny")
        story.later(0.5)
        story.say("bot", bot_says("utter_ask_anything_else", language)[0])
        return "left"

    def _bot_resolved(
        self, story: Story, customer: Customer, how: str, rounds: int, t: float
    ) -> None:
        """Self-service: confirmed at once, or the quiet sweep a little after the bot's
        quiet time. Now and then the customer writes again soon after and the bot goes on."""
        rng = self.rng
        if how == "quiet":
            story.later(self.settings.bot_quiet_minutes * 60 + rng.uniform(0, 60))
        how = "confirmed" if how == "helped" else how
        story.move(State.RESOLVED, {"by": "bot", "how": how},
                   resolved_at=iso(story.at), resolution_code="bot")  # fmt: skip
        self._ask_rating(story)
        if story.row["reopens"] == 0 and rng.random() < 0.03:
            story.later(rng.uniform(120, self.settings.reopen_window_minutes * 60 * 0.9))
            story.move(State.BOT, {"by": "customer"}, resolved_at=None, resolution_code=None)
            return self._with_bot(story, customer, Dialogue(self._need(story.language, t)),
                                  rounds, t)  # fmt: skip
        return self._rate(story, "bot_" + how, None)

    # -- with a person -------------------------------------------------------------------------
    def _straight_to_person(
        self, story: Story, customer: Customer, dialogue: Dialogue, intent: str, reason: str,
        rounds: int,
    ) -> None:  # fmt: skip
        story.later(1)
        story.customer(self.rng.choice(customer_says(intent, story.language)), intent)
        self._to_person(story, customer, dialogue, reason, rounds, told=False)

    def _to_person(
        self, story: Story, customer: Customer, dialogue: Dialogue, reason: str, rounds: int,
        told: bool = True, spam: bool = False,
    ) -> None:  # fmt: skip
        """The handoff, the wait, and the person's part; ``told``: the customer has put the
        question to the bot already."""
        story.later(self.rng.uniform(0.4, 1.5))
        self._enqueue(story, customer, dialogue, reason)
        worker = self._wait(story)
        if worker is None:
            return None
        if spam:
            story.later(self.rng.uniform(20, 120))
            return self._resolve(story, worker, "spam")
        code = self._with_person(story, dialogue.need, worker, rounds, told)
        if code in ("solved", "not_solved") and self.rng.random() < 0.05:
            self._reopened(story, customer)
        holder = next(w for w in self.workers if w.id == story.row["assignee_id"])
        late = (story.row.get("first_response_at") or "~") > story.row["first_response_due"]
        return self._rate(story, code, holder, late=late, failures=dialogue.failures)

    def _enqueue(self, story: Story, customer: Customer, dialogue: Dialogue, reason: str) -> None:
        """``Desk.enqueue``: priority, deadlines and the bot's handoff record, then the
        customer is told."""
        angry = reason == "angry"
        level = priority(customer.vip, angry)
        first_due, resolution_due = self.policy.deadlines(story.at, level)
        tags = sorted({tag for a in dialogue.attempts for tag in a.get("tags", [])})
        handoff = {
            "reason": reason, "priority": "high" if angry else "normal",
            "language": story.language, "intents": story.turns, "articles": dialogue.attempts,
            "customer_words": [t["text"] for t in story.turns if not t["text"].startswith("/")],
        }  # fmt: skip
        story.move(
            State.QUEUED, {"handoff": handoff}, language=story.language, priority=level.value,
            reason=reason, tags=tags, queued_at=iso(story.at),
            queue_key=self.policy.queue_key(story.at, level),
            first_response_due=iso(first_due), resolution_due=iso(resolution_due),
            metadata={**story.row["metadata"], "vip": customer.vip},
        )  # fmt: skip
        story.system("queued")

    def _wait(self, story: Story) -> Worker | None:
        """Until a person picks the conversation up (who), or the customer leaves (None)."""
        rng, queued = self.rng, story.at
        on_shift = self._on_shift(queued, story.language)
        if on_shift and self.policy.hours.open_at(queued):
            local_hour = queued.astimezone(self.zone).hour
            wait = rng.expovariate(len(on_shift) ** 0.5 / (45 * HOURLY[local_hour]))
            wait += rng.uniform(180, 900) if rng.random() < 0.03 else 0  # a rush
            if wait > 8:  # not picked up at once: told their place
                place, estimate = rng.randint(1, 3), round(wait, -1)
                story.later(0.2)
                story.system("position", position=place, wait=wait_text(estimate, story.language),
                             metadata={"queue": [place, estimate]})  # fmt: skip
            asked_later = False
        else:
            wait, on_shift = self._until_next_shift(queued, story.language)
            asked_later = self._nobody_there(story)
        patience = rng.expovariate(1 / 900) + 30
        if story.channel == "web" and not asked_later and patience < wait:
            story.at = max(story.at, queued + timedelta(seconds=patience))
            story.move(State.RESOLVED, {"by": "customer", "how": "left"},
                       resolved_at=iso(story.at), resolution_code="abandoned")  # fmt: skip
            return None
        story.at = max(story.at, queued + timedelta(seconds=wait)) + timedelta(seconds=0.2)
        worker = rng.choices(on_shift, [w.member.share for w in on_shift])[0]
        self._assign(story, worker, by="auto" if rng.random() < 0.8 else "claim")
        return worker

    def _nobody_there(self, story: Story) -> bool:
        """Out of hours, or no one on shift: the customer may ask for a later reply."""
        language, rng = story.language, self.rng
        replies = [{"title": desk_text("reply_later", language), "payload": "/reply_later"},
                   {"title": desk_text("wait", language), "payload": "/wait"}]  # fmt: skip
        if story.channel != "sms" and (self.settings.sms_enabled or self.settings.sms_demo):
            replies.append({"title": desk_text("continue_by_sms", language), "payload": "/sms"})
        story.later(0.2)
        if self.policy.hours.open_at(story.at):
            story.system("no_agents", replies, metadata={"queue": [1, None]})
        else:
            hours = self.policy.hours.describe(language)
            story.system("closed", replies, hours=hours, metadata={"queue": [1, None]})
        if rng.random() < 0.4:
            return False
        story.later(rng.uniform(5, 40))
        story.press(replies, 0, "reply_later")
        story.annotate("reply_later", {}, reply_later=True)
        noted = "reply_later_noted_sms" if story.channel == "sms" else "reply_later_noted"
        story.later(0.3)
        story.system(noted)
        return True

    def _on_shift(self, moment: datetime, language: str) -> list[Worker]:
        local = moment.astimezone(self.zone)
        return [
            w for w in self.workers
            if language in w.member.languages and local.weekday() in w.member.days
            and w.member.hours[0] <= local.hour < w.member.hours[1]
        ]  # fmt: skip

    def _until_next_shift(self, moment: datetime, language: str) -> tuple[float, list[Worker]]:
        """Seconds until someone who speaks the language is on shift (and the backlog of the
        night is worked through), and who is."""
        hour = moment.replace(minute=0, second=0, microsecond=0)
        for _ in range(24 * 7):
            hour += timedelta(hours=1)
            if (on_shift := self._on_shift(hour, language)) and self.policy.hours.open_at(hour):
                backlog = self.rng.expovariate(1 / 900)
                return (hour - moment).total_seconds() + backlog, on_shift
        return self.rng.expovariate(1 / 900), list(self.workers)  # no shifts: anyone, some time

    def _assign(self, story: Story, worker: Worker, by: str) -> None:
        story.move(State.ASSIGNED, {"agent_id": worker.id, "by": by}, assignee_id=worker.id)
        self.last_assigned[worker.id] = story.at
        story.later(0.05)
        story.system("joined", agent=worker.name)

    def _with_person(
        self, story: Story, need: Need, worker: Worker, rounds: int, told: bool
    ) -> str:
        """The agent greets, asks what they need to, answers; the customer may ask more; a
        few conversations are handed to a colleague. The resolution code."""
        rng, language = self.rng, story.language
        number = rng.randrange(100000, 999999)
        self._agent_says(story, worker, "hello", worker.member.first_reply_s)
        if not told:
            self._customer_says(story, rng.choice(need.texts))
        topic = next((t for t in need.tags if t in DETAIL_TOPICS), None)
        if topic:
            self._agent_says(story, worker, "ask")
            self._customer_says(story, rng.choice(DETAILS[topic][language]).format(number=number))
        if rng.random() < 0.04:
            worker = self._transfer(story, worker)
        code = rng.choices(["solved", "not_solved", "duplicate"], [83, 11, 6])[0]
        if code == "not_solved":
            self._agent_says(story, worker, "sorry")
        else:
            self._agent_says(story, worker, text=need.answer)
        for _ in range(rounds + rng.choice((0, 0, 1, 1, 2))):
            self._customer_says(story, rng.choice(FOLLOW_UP[language]))
            self._agent_says(story, worker, rng.choice(("more", "checked")), number=number)
        if rng.random() < 0.7:
            self._customer_says(story, rng.choice(customer_says("thanks", language)))
        self._agent_says(story, worker, text=ANYTHING_ELSE[language])
        story.later(rng.uniform(20, 120))
        self._resolve(story, worker, code)
        return code

    def _transfer(self, story: Story, worker: Worker) -> Worker:
        """``Desk.transfer`` to a colleague by name: a note, the new holder joins."""
        others = [w for w in self._on_shift(story.at, story.language) if w != worker]
        if not others:
            return worker
        colleague = self.rng.choice(others)
        note = self.rng.choice(AGENT["transfer"][story.language])
        story.later(self.rng.uniform(20, 90))
        story.note(worker.id, note)
        story.annotate("transfer", {"to_agent": colleague.id, "by": worker.id, "note": note},
                       assignee_id=colleague.id)  # fmt: skip
        story.later(0.05)
        story.system("joined", agent=colleague.name)
        self._agent_says(story, colleague, "hello")
        return colleague

    def _agent_says(
        self, story: Story, worker: Worker, key: str | None = None, mean_s: float | None = None,
        text: str | None = None, number: int = 0,
    ) -> None:  # fmt: skip
        story.later(self.rng.expovariate(1 / (mean_s or worker.member.turn_s)) + 4)
        if text is None:
            line = self.rng.choice(AGENT[key][story.language])
            text = line.format(agent=worker.name, number=f"VS-{number}")
        story.agent(worker.id, worker.name, text)

    def _customer_says(self, story: Story, text: str) -> None:
        story.later(self.rng.expovariate(1 / 40) + 5)
        story.customer(text, "ask_question")

    def _resolve(self, story: Story, worker: Worker, code: str) -> None:
        """``Desk.resolve``: resolved with its code, the customer told and asked to rate."""
        story.move(State.RESOLVED, {"agent_id": worker.id, "code": code},
                   resolved_at=iso(story.at), resolution_code=code)  # fmt: skip
        story.later(0.05)
        story.system("resolved")
        self._ask_rating(story)

    def _reopened(self, story: Story, customer: Customer) -> None:
        """The customer writes again within the reopen window: back to the same agent."""
        rng, holder_id = self.rng, story.row["assignee_id"]
        worker = next(w for w in self.workers if w.id == holder_id)
        story.later(rng.uniform(180, self.settings.reopen_window_minutes * 60 * 0.9))
        story.customer(rng.choice(AGAIN[story.language]), "ask_question")
        code = story.row["resolution_code"]
        story.move(State.ASSIGNED, {"by": "customer", "agent_id": holder_id},
                   resolved_at=None, resolution_code=None)  # fmt: skip
        self._agent_says(story, worker, "checked", number=rng.randrange(100000, 999999))
        self._agent_says(story, worker, text=ANYTHING_ELSE[story.language])
        story.later(rng.uniform(20, 120))
        self._resolve(story, worker, code)

    # -- ratings -------------------------------------------------------------------------------
    def _ask_rating(self, story: Story) -> None:
        """By SMS the survey's first question is texted at once; the widget shows its form."""
        if story.channel == "sms":
            story.later(0.05)
            story.system("rate_csat", metadata={"survey": "csat"})

    def _rate(
        self, story: Story, how: str, worker: Worker | None, late: bool = False,
        failures: int = 0,
    ) -> None:  # fmt: skip
        """Some customers rate the conversation once it is over (never one they left or spam):
        their satisfaction follows how it went and who helped."""
        if how in ("spam", "abandoned"):
            return
        rng = self.rng
        asked = {"bot_confirmed": 0.3, "bot_quiet": 0.06}.get(how, 0.45)
        if rng.random() >= asked * (1.2 if story.channel == "sms" else 1):
            return
        csat_mean = {"bot_confirmed": 4.6, "bot_quiet": 3.6, "not_solved": 2.6,
                     "duplicate": 4.0}.get(how, 4.4)  # fmt: skip
        csat_mean += (worker.member.csat if worker else 0) - 0.8 * late - 0.3 * failures
        ces_mean = {"bot_confirmed": 4.7, "bot_quiet": 3.8}.get(how, 4.2) - 0.4 * failures
        csat, ces = (max(1, min(5, round(rng.gauss(mean, 0.75)))) for mean in (csat_mean, ces_mean))
        if story.channel == "sms":
            return self._rate_by_sms(story, csat, ces)
        story.later(rng.uniform(10, 300))
        who = "bot" if worker is None else "agent"
        comment = None
        if rng.random() < 0.3:
            comment = rng.choice(
                COMMENTS[f"{who}_{'good' if csat >= 4 else 'bad'}"][story.language]
            )
        ces = None if rng.random() < 0.05 else ces
        story.rated(csat, ces, comment)
        story.event("feedback", {"csat": csat, "ces": ces})
        return None

    def _rate_by_sms(self, story: Story, csat: int, ces: int) -> None:
        """One question at a time, answered with a digit (``Desk.rating_answer``)."""
        rng = self.rng
        story.later(rng.uniform(30, 900))
        story.customer(str(csat), "ask_question")
        answers_ces = rng.random() < 0.8
        story.rated(csat, ces if answers_ces else None, None)
        story.event("feedback", {"csat": csat})
        story.later(0.3)
        story.system("rate_ces", metadata={"survey": "ces"})
        if answers_ces:
            story.later(rng.uniform(10, 120))
            story.customer(str(ces), "ask_question")
            story.event("feedback", {"ces": ces})
            story.later(0.3)
            story.system("rated")


def _outcome(attempt: dict) -> dict:
    """What the bot reports of an attempt (``report_outcome`` in bot/actions/actions.py)."""
    return {key: attempt.get(key) for key in ("query", "decision", "article_id", "reaction")}
