"""Keyword-only functions that read and write rows inside a caller's unit of work."""
