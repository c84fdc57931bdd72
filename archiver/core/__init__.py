"""The vocabulary every other package shares, and nothing else: the normalized model
(``model``), the error hierarchy (``errors``), message identity (``identity``:
fingerprints, content keys, keyed fingerprints, time-ordered ids, Merkle roots), the
token stream the full-text index and search share (``tokens``), time zones an operator
types (``zones``) and how a custodian's name is written (``names``).

Pure code: no SQL, no files, no clock. Imports only the standard library.
"""
