"""The organisation: departments (org units, a tree), projects and the places where
equipment stands. Audits, assets and nonconformances hang off these, and users belong to
them."""

from piccolo.columns import Boolean, Date, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

# People are the accounts domain's, which sits above this one (a user belongs to a
# department), so a department's head and a project's managers are lazy references.
USER = LazyTableReference("User", module_path="server.accounts.tables")


class OrgUnit(Table, tablename="org_unit"):
    code = Varchar(length=40, unique=True)
    name_zh = Varchar(length=200)
    name_en = Varchar(length=200)
    parent = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    head = ForeignKey(USER, null=True, on_delete=OnDelete.set_null)
    active = Boolean(default=True)


class Project(Table, tablename="project"):
    code = Varchar(length=40, unique=True)
    name_zh = Varchar(length=200)
    name_en = Varchar(length=200)
    org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.restrict)
    # startup / plan / execution / monitoring / closure: which project audit applies now
    phase = Varchar(length=20, default="startup")
    phase_changed_at = Timestamptz(null=True, default=None)
    client = Varchar(length=200, default="")
    manager = ForeignKey(USER, null=True, on_delete=OnDelete.set_null)
    quality_owner = ForeignKey(USER, null=True, on_delete=OnDelete.set_null)
    planned_start = Date(null=True, default=None)
    planned_end = Date(null=True, default=None)
    active = Boolean(default=True)


class Location(Table, tablename="location"):
    """Where equipment stands: a room of a floor of a building."""

    code = Varchar(length=60, unique=True)
    name = Varchar(length=200)
    building = Varchar(length=200, default="")
    floor = Varchar(length=40, default="")
    room = Varchar(length=100, default="")
    org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
