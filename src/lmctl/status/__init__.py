"""``lmctl status``, ``drain`` and ``undrain``: failover checks and member maintenance.

Pure parts: :mod:`.model` (status values), :mod:`.observe` (spec vs appliance per service and
member), :mod:`.conditions` (Serving, FailoverReady, Healthy, InSync), :mod:`.drain` (which
writes, is it safe), :mod:`.report` (JSON and tables). I/O at the edges: :mod:`.read`
(two calls per appliance, all appliances at once) and :mod:`.maintenance` (drain/undrain).
"""
