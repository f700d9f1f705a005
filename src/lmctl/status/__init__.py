"""``lmctl status``: is every array serving, failover-ready, healthy and in sync with its spec?

- :mod:`.model`: the status values (per member, service and array; conditions; exit codes);
- :mod:`.conditions`: the matcher's answer (``lmctl.plan.match``) and live connection counts →
  those values, pure;
- :mod:`.check`: which arrays, reading their appliances (two calls each, all at once) and
  matching each appliance once;
- :mod:`.render`: the ``lmctl.status/v1`` JSON document and the tables.
"""
