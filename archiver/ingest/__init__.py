"""Exports in, messages out: finding exports on disk safely (``containers``,
``inner``), parsing them in a child process (``pipeline``), staging what needs no
database (``staging``), deciding which archived chat an export is (``chat_identity``)
and writing messages, versions, custody links and attachments (``writer``,
``attachments``), one transaction per export (``exports``, the use case).

May import ``core``, ``parsers``, ``security``, ``store`` and ``archive``.
"""
