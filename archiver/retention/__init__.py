"""Keeping and deleting: policy files (``policy``, ``policy_review``, ``scopes``), the
retention decision (``decisions``), legal holds (``holds``), what counts as shortening
retention (``shortening``), the purge (``purge``) and redaction of stored originals
(``redaction``).

May import ``core``, ``parsers``, ``security``, ``store``, ``archive`` and ``search``
(query holds).
"""
