"""The storage boundary: every SQL statement of archiver lives in this package.

``database`` holds the connection (SQLCipher pragmas, transactions, busy and damage
errors), ``schema`` the numbered migrations, ``blobs`` content-addressed files in
chunks, ``fts`` the full-text index, ``auditlog`` the HMAC-chained audit append. Use
cases call the store inside ``Store.transaction()`` together with their audit entry.

May import ``core`` and ``security``. See docs/architecture.md for what a second
engine (PostgreSQL) must implement.
"""
