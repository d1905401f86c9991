"""Jiaxiao (家校): a chat assistant for families and teachers."""

__version__ = "0.1.0"
