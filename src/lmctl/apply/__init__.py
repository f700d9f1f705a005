"""Applying a plan: per appliance, lock → drift check → backup → writes in order → read back
(``execute``), and the report of what was done (``report``)."""
