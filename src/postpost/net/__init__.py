"""Outbound networking to user-given addresses."""
