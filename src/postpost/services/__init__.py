"""Use cases: everything the API, CLI, MCP and dashboard do goes through these functions.

Services take an `AsyncSession`, raise `postpost.errors` exceptions and commit at most once.
"""
