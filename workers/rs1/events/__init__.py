"""Signed outbound events: a D1 outbox written with each state change, delivered by cron."""
