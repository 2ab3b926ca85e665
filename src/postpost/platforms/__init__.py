"""One adapter per social platform behind one interface (`base.PlatformAdapter`).

Adapters speak each platform's real HTTP API, know nothing of the database, and raise only
`PlatformError`. They never sleep or retry: the engine decides.
"""
