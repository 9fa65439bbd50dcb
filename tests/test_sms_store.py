"""The SMS store's status rules, on a real SQLite file and a real PostgreSQL database:
statuses only move forward, and a callback that overtakes the answer to its send is applied
once the send is recorded."""

import pytest

from channels.sms_store import SqlSmsStore
from tests.databases import open_database_at

# The contract of the stores: every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("each_engine")


PHONE = "+79990000001"
SID = "SM" + "a" * 32


def sent_text(tmp_path) -> tuple[SqlSmsStore, int]:
    sms = SqlSmsStore(open_database_at(tmp_path / "helpdesk.db"))
    sms.add(PHONE, ["Здравствуйте"])
    [taken] = sms.take_due(lease_s=60)
    return sms, taken.id


def test_a_status_never_moves_backwards_and_repeats_change_nothing(tmp_path):
    sms, text = sent_text(tmp_path)
    sms.accepted(text, SID, "queued", 1)
    assert sms.status_reported(SID, "delivered", None).status == "delivered"
    assert sms.status_reported(SID, "sent", None) is None  # late
    assert sms.status_reported(SID, "delivered", None) is None  # repeated
    assert sms.to_phone(PHONE)[0].status == "delivered"


def test_a_callback_before_the_send_is_recorded_is_applied_when_it_is(tmp_path):
    sms, text = sent_text(tmp_path)
    assert sms.status_reported(SID, "undelivered", 30003) is None  # the sid is not known yet
    assert sms.status_reported(SID, "sent", None) is None  # and a lesser one keeps the greater
    recorded = sms.accepted(text, SID, "queued", 1)
    assert (recorded.status, recorded.error_code) == ("undelivered", 30003)
    assert "unreachable" in recorded.error_message


def test_a_callback_for_a_text_never_sent_here_is_ignored(tmp_path):
    sms, _ = sent_text(tmp_path)
    assert sms.status_reported("SM" + "b" * 32, "delivered", None) is None
    assert sms.status_reported(SID, "no-such-status", None) is None
