"""An archive as a whole: opening and creating one (``session``: key slots + the
database), its settings (``settings``) and copying it (``maintenance``: status,
backup).

May import ``core``, ``security`` and ``store``.
"""
