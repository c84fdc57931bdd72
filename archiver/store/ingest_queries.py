"""What ingest asks of the archive: chats and participants by key, messages by
fingerprint, id and content, inserting rows in bulk, custodians, sources and their files,
unparsed input.

Methods of ``Store`` (mixed in): every statement here is SQLite's; a second engine
implements the same methods (docs/architecture.md).
"""

from __future__ import annotations


class IngestQueries:
    """Named queries; ``self`` is the ``Store``."""
