"""Member maintenance: ``drain`` and ``undrain`` of one CAS in its array (:mod:`.drain`).

Reads go through :mod:`lmctl.status` (the array's status from the matcher and the live counts);
writes are one ``UpdateRealServer`` per virtual service, under the appliance's apply lock.
"""
