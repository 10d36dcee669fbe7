"""Output as text: escape sequences removed, lines as a person reads them."""

from ._text import LineCooker, TextStripper, split_unfinished, strip_ansi

__all__ = ["LineCooker", "TextStripper", "split_unfinished", "strip_ansi"]
