"""Finding and reading messages: the query language (``query``), the engine over the
full-text index (``engine``), the message record every output shares (``records``) and
`archiver export` (``export``).

May import ``core``, ``security``, ``store`` and ``archive``.
"""
