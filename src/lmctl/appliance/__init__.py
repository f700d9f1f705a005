"""The seam between lmctl's decisions and a load balancer.

- ``state``: what an appliance holds, as comparable values, and who owns each virtual service
  (lmctl's marker);
- ``changes``: what can be done to one, each change one write;
- ``base``: the ``Appliance`` protocol (observe, connections, apply one change, backup) and
  opening the inventory's appliances (``mock://`` included);
- ``loadmaster``: the ``Appliance`` that speaks to a Kemp LoadMaster.
"""
