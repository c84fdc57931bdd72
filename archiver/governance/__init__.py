"""Four-eyes: actions that wait for a second admin's approval (``approvals``).

May import every package below it: ``core`` to ``curation``.
"""
