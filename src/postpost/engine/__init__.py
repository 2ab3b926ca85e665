"""The publishing engine: workers claim due platform posts, publish them, record the outcome.

The posts table is the queue. See docs/architecture.md for the state machine and guarantees.
"""
