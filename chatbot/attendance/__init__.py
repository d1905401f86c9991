"""attendance domain."""
