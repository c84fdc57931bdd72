"""What the officer's corrections change: chats merged and split, people linked,
custodians renamed, sources re-derived.

Methods of ``Store`` (mixed in): every statement here is SQLite's; a second engine
implements the same methods (docs/architecture.md).
"""

from __future__ import annotations


class CurationQueries:
    """Named queries; ``self`` is the ``Store``."""
