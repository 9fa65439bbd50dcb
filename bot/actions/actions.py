"""What the bot does beyond fixed replies: answer from the knowledge base, react to "did this
help?", and hand the conversation to a person with its full history.

Escalation policy: the customer asks for a person -> at once; anger -> at once, high priority;
two failed attempts (the base had no answer, or "no" to "did this help?") -> offer a person and
hand over on "yes".
"""

from typing import Any

from rasa_sdk import Action, Tracker, ValidationAction
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.handoff import handoff_record

FAILURES_BEFORE_OFFER = 2
Events = list[dict[str, Any]]


class ValidateSlotMappings(ValidationAction):
    """Runs after every customer message: the API tells us the message's language."""

    def extract_language(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        language = (tracker.latest_message.get("metadata") or {}).get("language")
        return {"language": language} if language in ("ru", "en") else {}


class AnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> Events:
        text = tracker.latest_message.get("text") or ""
        chosen = next(tracker.get_latest_entity_values("article_id"), None)
        try:
            if chosen:
                return self._chosen(dispatcher, tracker, knowledge.article(chosen))
            result = knowledge.search(text)
        except knowledge.KnowledgeUnavailable:
            return hand_over(dispatcher, tracker, "knowledge_unavailable")
        if result["decision"] == "answer":
            hit = result["hits"][0]
            return self._answer(dispatcher, tracker, knowledge.article(hit["id"]), hit["score"], text)
        if result["decision"] == "clarify":
            return self._clarify(dispatcher, tracker, result, text)
        attempt = {"query": text, "decision": "fallback", "reaction": None}
        report_outcome(dispatcher, attempt)
        return failed(dispatcher, tracker, attempt, "utter_rephrase")

    def _chosen(self, dispatcher, tracker, article: dict) -> Events:
        """The customer picked one of the offered questions: note it, then answer it."""
        history = attempts(tracker)
        offered = history[-1] if history and history[-1]["decision"] == "clarify" else None
        if offered:
            history[-1] = {**offered, "reaction": f"chose {article['id']}"}
        candidates = offered["candidates"] if offered else []
        score = next((c["score"] for c in candidates if c["article_id"] == article["id"]), None)
        query = offered["query"] if offered else article["question"]
        return self._answer(dispatcher, tracker, article, score, query, history)

    def _answer(self, dispatcher, tracker, article: dict, score, query: str, history=None) -> Events:
        # as data, not text: Rasa's REST channel would split a Markdown answer at blank lines
        dispatcher.utter_message(json_message={"answer": {"article_id": article["id"], "text": article["answer"]}})
        dispatcher.utter_message(response="utter_did_it_help")
        attempt = {
            "query": query, "decision": "answer", "article_id": article["id"],
            "question": article["question"], "score": score, "reaction": None,
            "tags": article.get("tags", []),  # the topic, for routing to an agent who knows it
        }  # fmt: skip
        history = attempts(tracker) if history is None else history
        return [SlotSet("attempts", [*history, attempt]), SlotSet("awaiting", "feedback")]

    def _clarify(self, dispatcher, tracker, result: dict, query: str) -> Events:
        hits = result["hits"][:3]
        buttons = [
            {"title": h["question"], "payload": f'/choose_article{{"article_id": "{h["id"]}"}}'}
            for h in hits
        ]
        none_of_these = "Ничего из этого" if tracker.get_slot("language") == "ru" else "None of these"
        buttons.append({"title": none_of_these, "payload": "/deny"})
        dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        attempt = {
            "query": query, "decision": "clarify", "reaction": None,
            "candidates": [{"article_id": h["id"], "question": h["question"], "score": h["score"]} for h in hits],
        }  # fmt: skip
        return [SlotSet("attempts", [*attempts(tracker), attempt]), SlotSet("awaiting", "choice")]


class HandleReply(Action):
    """A "yes" or "no": to "did this help?", to a choice of articles, or to the offer of a person."""

    def name(self) -> str:
        return "action_handle_reply"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> Events:
        awaiting = tracker.get_slot("awaiting")
        yes = tracker.get_intent_of_latest_message() == "affirm"
        if awaiting == "handoff_offer":
            if yes:
                return hand_over(dispatcher, tracker, "bot_could_not_help")
            dispatcher.utter_message(response="utter_ask_anything_else")
            return [SlotSet("awaiting", None)]
        if awaiting in ("feedback", "choice"):
            history = attempts(tracker)
            if history:
                history[-1] = {**history[-1], "reaction": "helped" if yes else "did_not_help"}
                report_outcome(dispatcher, history[-1])
            if yes:
                dispatcher.utter_message(response="utter_glad")
                return [SlotSet("attempts", history), SlotSet("awaiting", None)]
            return failed(dispatcher, tracker, None, "utter_sorry_rephrase", history)
        dispatcher.utter_message(response="utter_how_can_i_help")
        return []


class HandOverToHuman(Action):
    def name(self) -> str:
        return "action_hand_over"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> Events:
        if tracker.get_intent_of_latest_message() == "complain":
            return hand_over(dispatcher, tracker, "angry", priority="high")
        return hand_over(dispatcher, tracker, "customer_asked")


def report_outcome(dispatcher: CollectingDispatcher, attempt: dict[str, Any]) -> None:
    """Tell the API how an attempt ended (an answer that helped or not, a question the base
    could not answer): it records these for the KPIs and the knowledge-base gaps report."""
    keys = ("query", "decision", "article_id", "reaction")
    dispatcher.utter_message(json_message={"outcome": {k: attempt.get(k) for k in keys}})


def attempts(tracker: Tracker) -> list[dict[str, Any]]:
    return list(tracker.get_slot("attempts") or [])


def failed(dispatcher, tracker, attempt, response: str, history=None) -> Events:
    """One more failed attempt: ask to rephrase, or after enough of them offer a person."""
    history = attempts(tracker) if history is None else history
    if attempt:
        history.append(attempt)
    failures = int(tracker.get_slot("failures") or 0) + 1
    events = [SlotSet("attempts", history), SlotSet("failures", float(failures))]
    if failures >= FAILURES_BEFORE_OFFER:
        dispatcher.utter_message(response="utter_offer_human")
        return [*events, SlotSet("awaiting", "handoff_offer")]
    dispatcher.utter_message(response=response)
    return [*events, SlotSet("awaiting", None)]


def hand_over(dispatcher, tracker, reason: str, priority: str = "normal") -> Events:
    """The API sees the record in the reply, queues the conversation and tells the customer."""
    dispatcher.utter_message(json_message={"handoff": handoff_record(tracker, reason, priority)})
    return [SlotSet("awaiting", None), ConversationPaused()]
