from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    COMPANY = "company", _("Company")
    REGION = "region", _("Region")
    DEPARTMENT = "department", _("Department")
    TEAM = "team", _("Team")


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    DIRECTOR = "director", _("Sales director")
    MANAGER = "manager", _("Sales manager")
    REP = "rep", _("Sales rep")
    VIEWER = "viewer", _("Viewer")


# Roles that see every record of the company.
COMPANY_WIDE_ROLES = frozenset({Role.ADMIN, Role.DIRECTOR})
# Roles that may change data (a viewer only reads).
WRITER_ROLES = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP})
