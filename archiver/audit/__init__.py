"""Accountability: the audit trail as a use case (``trail``: list, export, head) and
`archiver verify` (``verify``: the chain, the database, fingerprints, Merkle roots,
stored files).

May import ``core``, ``security``, ``store``, ``archive`` and ``ingest`` (Merkle roots
of ingests).
"""
