"""What `verify`, the audit trail, status and backup ask of the archive.

Methods of ``Store`` (mixed in): every statement here is SQLite's; a second engine
implements the same methods (docs/architecture.md).
"""

from __future__ import annotations


class AuditQueries:
    """Named queries; ``self`` is the ``Store``."""
