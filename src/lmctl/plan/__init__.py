"""Planning: what must change on the appliances so that they hold what the specs want.

The flow, one module each: ``match`` (desired and observed → one ``ServiceMatch`` per service: the
single answer to "which virtual service is this service's?") → ``diff`` (matches → changes in
make-before-break order) → ``document`` (the ``Plan`` over every appliance, ``make_plan``),
checked by ``safety`` (the rules ``--allow RULE`` and ``--force`` waive, and the write order)
with ``simulate`` (the changes run in memory) and ``moves`` (arrays moving between appliances)
→ ``render`` (text, JSON, Markdown) and ``planfile`` (saved plans).
Everything here is pure: appliances are read before (``lmctl.appliance``) and written after
(``lmctl.apply``).
"""
