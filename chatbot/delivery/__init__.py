"""THE outbox: every message the bot sends on its own goes through here."""
