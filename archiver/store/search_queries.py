"""What search, export and the message records ask of the archive: full-text matches,
pages in date or relevance order, counts, records and their context.

Methods of ``Store`` (mixed in): every statement here is SQLite's; a second engine
implements the same methods (docs/architecture.md).
"""

from __future__ import annotations


class SearchQueries:
    """Named queries; ``self`` is the ``Store``."""
