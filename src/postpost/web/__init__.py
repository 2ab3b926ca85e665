"""Server-rendered pages (plain HTML, no JavaScript needed)."""
