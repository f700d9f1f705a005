"""A mock LoadMaster that speaks the real API (v1 XML and v2 JSON), in-process or served over HTTPS.

``MockAppliance`` is the in-memory appliance; ``lmctl.mock.server.serve_in_thread`` serves it;
``lmctl.mock.control.MockControl`` drives its control API; ``lmctl.mock.embedded`` backs the
inventory's ``mock://`` appliances.
"""

from __future__ import annotations

from lmctl.mock.appliance import MockAppliance

__all__ = ["MockAppliance"]
