"""postpost: a self-hostable service speaking the PostPost v1 publishing API."""

__version__ = "0.1.0"
