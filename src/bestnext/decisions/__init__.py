"""Best Next Action decisioning: the action catalog, arbitration, the contact policy, decision
and outcome logging (serving half), and the online models in :mod:`bestnext.decisions.learning`.

Modules: ``rules`` (safe rule language), ``catalog`` (YAML catalog), ``arbitration`` (the pure
``decide``), ``contact_policy`` (the one contact policy), ``contacts`` (its read model),
``services`` (use cases), ``routes`` and ``cli`` (entry points).
"""
