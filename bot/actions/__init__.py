"""Custom actions of the Helpdesk bot, run by the rasa-sdk action server (`rasa run actions`)."""
