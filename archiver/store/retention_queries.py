"""What retention asks of the archive: policy versions, holds, the facts a decision
needs, purges, tombstones, redacted originals, four-eyes requests and settings.

Methods of ``Store`` (mixed in): every statement here is SQLite's; a second engine
implements the same methods (docs/architecture.md).
"""

from __future__ import annotations


class RetentionQueries:
    """Named queries; ``self`` is the ``Store``."""
