"""The SMS channel's tables, as sqlite-utils migrations of their own (applied on open)."""

from sqlite_utils import Database, Migrations

migrations = Migrations("channels")


@migrations()
def m001_sms(db: Database) -> None:
    # What went out by SMS: one row per text (a long message may take several), its Twilio
    # id, billed segments and delivery status. message_id is empty for texts that are not
    # part of a conversation (verification codes, keyword answers: those name the inbound text
    # they answer in reply_to, so a repeated webhook is answered once, and they reach a number
    # that has just opted out, as carriers expect the STOP confirmation to).
    db["sms_deliveries"].create(
        {
            "id": int, "message_id": int, "conversation_id": str, "part": int, "phone": str,
            "body": str, "segments": int, "status": str, "sid": str, "error_code": int,
            "error_message": str, "attempts": int, "next_attempt_at": str, "reply_to": str,
            "created_at": str, "updated_at": str,
        },
        pk="id", defaults={"attempts": 0, "part": 1},
    )  # fmt: skip
    db["sms_deliveries"].create_index(["message_id", "part"], unique=True)
    db["sms_deliveries"].create_index(["sid"], unique=True)
    db["sms_deliveries"].create_index(["reply_to"], unique=True)
    db["sms_deliveries"].create_index(["status", "next_attempt_at"])
    db["sms_deliveries"].create_index(["conversation_id"])
    db["sms_deliveries"].create_index(["phone", "status"])
    # A status callback can overtake the answer to the send that it is about: kept here until
    # the send's sid is recorded, then applied.
    db["sms_early_statuses"].create(
        {"sid": str, "status": str, "error_code": int, "at": str}, pk="sid"
    )
    # Numbers that texted STOP: nothing is sent to them until they text START.
    db["sms_opt_outs"].create({"phone": str, "at": str}, pk="phone")
    # One-time codes proving a web customer owns a phone number (stored as hashes).
    db["sms_codes"].create(
        {
            "id": int, "conversation_id": str, "phone": str, "code_hash": str, "created_at": str,
            "expires_at": str, "wrong": int, "state": str,
        },
        pk="id", defaults={"wrong": 0, "state": "open"},
    )  # fmt: skip
    db["sms_codes"].create_index(["conversation_id", "created_at"])
    db["sms_codes"].create_index(["phone", "created_at"])
