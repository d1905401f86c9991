"""Jiaxiao (家校): a chat assistant for families and teachers."""

__version__ = "0.1.0"

from chatbot.logs import install_record_redaction

# Installed on import so every process that uses the package, tests included, logs without PII.
install_record_redaction()
