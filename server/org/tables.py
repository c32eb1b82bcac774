"""The organisation: departments (org units) and projects. Audits, assets and
nonconformances hang off these, and users belong to them."""

from piccolo.columns import Boolean, ForeignKey, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class OrgUnit(Table, tablename="org_unit"):
    code = Varchar(length=40, unique=True)
    name_zh = Varchar(length=200)
    name_en = Varchar(length=200)
    parent = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    active = Boolean(default=True)


class Project(Table, tablename="project"):
    code = Varchar(length=40, unique=True)
    name_zh = Varchar(length=200)
    name_en = Varchar(length=200)
    org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.restrict)
    # startup / plan / execution / monitoring / closure: which project audit applies now
    phase = Varchar(length=20, default="startup")
    client = Varchar(length=200, default="")
    active = Boolean(default=True)
