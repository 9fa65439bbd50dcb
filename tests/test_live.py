"""Live events: a watcher that falls too far behind is told to reconnect, never silently
left without the events it missed."""

import asyncio

import pytest

from escalation.live import LISTENER_BACKLOG, FellBehind, LiveEvents, customer_topic, staff_topic


def test_customer_events_reach_staff_but_staff_only_events_do_not_reach_the_customer():
    async def scenario():
        hub = LiveEvents()
        async with (
            hub.listen(customer_topic("c1")) as customer,
            hub.listen(staff_topic("c1")) as staff,
        ):
            hub.conversation("c1", {"type": "message"})
            hub.conversation("c1", {"type": "note"}, staff_only=True)
            assert [(await staff.next())["type"] for _ in range(2)] == ["message", "note"]
            assert (await customer.next()) == {"type": "message", "conversation_id": "c1"}
            assert customer.inbox.empty()

    asyncio.run(scenario())


def test_a_listener_that_overflows_reads_its_backlog_then_is_told_it_fell_behind():
    async def scenario():
        hub = LiveEvents()
        async with hub.listen("queue", customer_topic("c1")) as slow:
            for i in range(LISTENER_BACKLOG + 5):
                hub.publish("queue", {"n": i})
            assert slow.topics == set()
            slow.follow("queue")  # cannot quietly resume: what it missed is gone
            hub.publish("queue", {"n": -1})
            received = [(await slow.next())["n"] for _ in range(LISTENER_BACKLOG)]
            assert received == list(range(LISTENER_BACKLOG))
            with pytest.raises(FellBehind):
                await slow.next()

    asyncio.run(scenario())
