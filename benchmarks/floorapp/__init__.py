"""Bench-only app: the least a secure, idempotent webhook receiver can do."""
