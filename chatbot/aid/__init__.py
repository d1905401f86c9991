"""aid domain."""
