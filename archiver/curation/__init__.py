"""The officer's corrections of identity, each audited: chats merged and split
(``chats``), people linked (``people``), custodians renamed (``custodians``) and
sources re-derived from their stored originals (``sources``, ``rederive``,
``reparse``).

May import every package below it: ``core`` to ``retention``.
"""
