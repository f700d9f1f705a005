"""The root of every error lmctl raises for its user to act on.

``LmctlError`` is what a caller catches to handle any of them; each subclass's message says what
is wrong and what to do. The families below it:

- ``lmctl.specs.SpecError`` (invalid specs), ``lmctl.specs.CredentialError`` (a secret the
  inventory names cannot be found);
- ``lmctl.loadmaster.errors.LoadMasterError``: the appliance refused, could not be reached,
  answered something unreadable, or its certificate did not match;
- ``lmctl.appliances.ApplianceUnavailableError``, ``lmctl.reconcile.guard.ApplianceBusyError``,
  ``lmctl.reconcile.read.ReadError``, ``lmctl.reconcile.planfile.PlanFileError``: opening, locking
  and reading appliances, saved plans;
- ``lmctl.status.scope.UnknownArrayError``, ``lmctl.status.drain.UnknownMemberError``;
- ``lmctl.mock.control.MockControlError``: the mock's control API refused a request.
"""

from __future__ import annotations


class LmctlError(Exception):
    """Base of every error lmctl reports to a user: catch this to handle any of them."""
