"""Secrets and their uses: the crypto primitives (``crypto``), key slots in
``keys.json`` and what a slot may do (``keyring``, ``roles``), signed documents
(``signing``) and the key-slot use cases behind `archiver key` (``keys``).

May import ``core``; ``keys`` also uses ``store`` and ``archive`` (it changes the
database key). Never prints; secrets never appear in errors.
"""
