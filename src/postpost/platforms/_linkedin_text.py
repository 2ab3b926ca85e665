"""LinkedIn's "little" text format for post commentary.

In little text the characters ``\\ | { } @ [ ] ( ) < > # * _ ~`` are markup; LinkedIn cuts a post
at the first one it cannot parse, so every one of them is escaped with a backslash to publish
literally. The one piece of markup we write is a mention, ``@[Name](urn:li:person:ID)``, made from
PostPost's documented syntax ``@{urn:li:person:ID|Name}`` (or ``urn:li:organization:ID``).
"""

from __future__ import annotations

import re

RESERVED = frozenset("\\|{}@[]()<>#*_~")
_MENTION = re.compile(r"@\{(urn:li:(?:person|organization):[A-Za-z0-9_-]+)\|([^{}|]+)\}")


def escape(text: str) -> str:
    """`text` with every reserved character backslash-escaped."""
    return "".join("\\" + c if c in RESERVED else c for c in text)


def commentary(text: str) -> str:
    """Post content as little text: literal text escaped, documented mentions turned into markup."""
    out: list[str] = []
    position = 0
    for mention in _MENTION.finditer(text):
        out.append(escape(text[position : mention.start()]))
        out.append(f"@[{escape(mention.group(2))}]({mention.group(1)})")
        position = mention.end()
    out.append(escape(text[position:]))
    return "".join(out)
