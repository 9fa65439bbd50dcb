"""The whole service (``helpdesk serve``, two API workers, Redis) under chat load while the Rasa
server and then an API worker are killed with SIGKILL: every customer message acknowledged is
stored once and in order, and customers who wrote while the bot was down were told that a person
would answer, not shown an error. ``benchmarks.load`` at small scale (its figures at full scale,
and the Redis restart, are in docs/benchmarks.md)."""

import asyncio

from benchmarks.load import fault_report, run_load, stack
from escalation.texts import TEXTS

SHARED_REDIS = "redis://127.0.0.1:6379/0"  # keys under a prefix of this run's own


def test_nothing_acknowledged_is_lost_when_rasa_and_an_api_worker_are_killed(tmp_path):
    service = stack(tmp_path, workers=2, redis_url=SHARED_REDIS).start()
    try:
        run = asyncio.run(
            run_load(service, 10, 300, workers=2, faults=["rasa", "api"], progress=False)
        )
    finally:
        service.stop()
    tally, verdict = run.tally, run.verdict
    assert (tally.given_up, tally.refused, verdict.acknowledged) == (0, [], 300)
    assert (verdict.lost, verdict.duplicated, verdict.out_of_order, verdict.unknown) == (0, 0, 0, 0)
    # a message whose first delivery died with its API worker is answered on the retry
    assert tally.unanswered == []
    rasa, api = run.faults
    assert (rasa.kind, api.kind) == ("rasa", "api")
    bot_down = fault_report(rasa, api.started, tally)
    assert not bot_down["failures"]  # the bot being away is no error to the customer
    assert set(bot_down["told"]) & set(TEXTS["bot_unavailable"].values())
    assert verdict.stored["bot"] > 0 and verdict.stored["agent"] > 0
