"""Server maintenance: ``drain`` and ``undrain`` of one CAS (:mod:`.drain`) in every array that
lists it (:mod:`.server`).

Reads go through :mod:`lmctl.status` (each array's status from the matcher and the live counts);
writes are one ``UpdateRealServer`` per virtual service, under the apply locks of the appliances
involved.
"""
