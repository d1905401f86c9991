"""reminders domain."""
