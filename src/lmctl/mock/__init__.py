"""A mock LoadMaster that speaks the real API (v1 XML and v2 JSON), in-process or served over HTTPS.

``MockAppliance`` is the in-memory appliance; ``lmctl.mock.server.serve_in_thread`` serves it;
``lmctl.mock.control.MockControl`` drives its control API; ``lmctl.mock.embedded`` backs the
inventory's ``mock://`` appliances.

The modules, from the appliance's facts up to the network: ``tables`` (what the appliance
accepts and sends, from its documentation and captures), ``state`` (what it remembers and its live
facts), ``persistence`` (the state as JSON, the state file), ``wire`` (replies in XML and JSON),
``commands`` (each API command), ``appliance`` (``MockAppliance``), ``faults`` (planned faults and
the call log), ``control`` (the control API, both sides), ``tls`` (its certificate), ``server``
(the HTTPS server), ``embedded`` (``mock://``). The mock imports nothing of lmctl but
``lmctl.errors``.
"""

from __future__ import annotations

from lmctl.mock.appliance import MockAppliance

__all__ = ["MockAppliance"]
