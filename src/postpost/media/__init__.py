"""Media files: accepted formats, probing, per-platform conversion and preparation for publishing."""
