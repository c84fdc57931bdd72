"""What productions record: matters, production numbers, Bates numbers, documents.

Methods of ``Store`` (mixed in): every statement here is SQLite's; a second engine
implements the same methods (docs/architecture.md).
"""

from __future__ import annotations


class ProductionQueries:
    """Named queries; ``self`` is the ``Store``."""
