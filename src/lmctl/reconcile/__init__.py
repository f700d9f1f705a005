"""Reconcile array specs with the appliances: ``lmctl plan`` and ``lmctl apply``.

The flow, octoDNS-style: read every appliance (one ``listvs`` each, concurrently) → ``diff`` the
desired virtual services of each appliance against the ones carrying lmctl's marker → a ``Plan``
of typed, ordered changes (``changes``, ``order``) checked by the safety rules (``safety``) and
the make-before-break simulator (``simulate``) → rendered as text, JSON or Markdown (``render``),
saved (``planfile``) → applied (``execute``) with a backup, a lock and a drift check (``guard``).
Decisions are pure functions; I/O stays in ``read``, ``execute`` and ``guard``.
"""
