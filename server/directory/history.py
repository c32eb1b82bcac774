"""What the histories of people, departments, projects and locations say."""

from __future__ import annotations

from server.accounts.tables import User
from server.core.i18n import gettext as _
from server.history.readable import Vocabulary
from server.org.tables import Location, OrgUnit, Project

USER = Vocabulary(User, refs={"projects": Project})
UNIT = Vocabulary(OrgUnit)
PROJECT = Vocabulary(Project, refs={"members": User})
LOCATION = Vocabulary(Location, fields={"name": lambda: _("Name")})
