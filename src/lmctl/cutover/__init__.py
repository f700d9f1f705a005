"""The Exchange half of a cutover, which the LoadMaster half (plan, apply) does not touch.

``script``: the PowerShell an Exchange administrator runs in the Exchange Management Shell to make
clients use the array (``exchange_script``, pure: a spec in, text out). ``preflight``: the checks
an administrator runs from a workstation before and after the cutover (DNS, ports, health URLs,
certificates), read-only, concurrent, bounded per probe.
"""

from lmctl.cutover.script import ScriptError, exchange_script

__all__ = ["ScriptError", "exchange_script"]
