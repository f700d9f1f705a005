"""``lmctl init``: a spec repository of its own, scaffolded.

``layout`` says what a new spec repository holds (an inventory with a ``mock://`` appliance, an
example array, the JSON Schemas its editor hints reach, ``.gitignore``, CI files for GitHub
Actions and GitLab CI that install the lmctl that wrote them); ``write`` writes it, never over a
file unless told and never through a link. The templates are package data (``templates/``).
"""

from lmctl.scaffold.layout import ScaffoldFile, repository_files
from lmctl.scaffold.write import ScaffoldError, write_repository

__all__ = ["ScaffoldError", "ScaffoldFile", "repository_files", "write_repository"]
