"""Conversations, the handoff from the bot and the human agent queue (built in issues 4 and 5)."""
