"""HTTP layer: parse, authenticate, call a service, shape the reply. No SQL here."""
