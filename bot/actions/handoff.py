"""The handoff record: everything a person needs so that the customer never repeats themselves."""

from typing import Any

from rasa_sdk import Tracker


def handoff_record(tracker: Tracker, reason: str, priority: str = "normal") -> dict[str, Any]:
    customer_turns = [e for e in tracker.events if e.get("event") == "user"]
    return {
        "reason": reason,
        "priority": priority,
        "language": tracker.get_slot("language") or "en",
        "intents": [
            {
                "text": turn.get("text"),
                "intent": (turn.get("parse_data") or {}).get("intent", {}).get("name"),
                "confidence": (turn.get("parse_data") or {}).get("intent", {}).get("confidence"),
            }
            for turn in customer_turns
        ],
        "articles": tracker.get_slot("attempts") or [],
        # what they typed; button presses ("/deny") are in the articles' reactions instead
        "customer_words": [
            turn["text"] for turn in customer_turns if turn.get("text") and not turn["text"].startswith("/")
        ],
    }
