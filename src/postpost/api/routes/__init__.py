"""One router per resource of the PostPost v1 API."""
