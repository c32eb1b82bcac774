"""Equipment and its periodic inspection schedules."""

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.accounts.tables import User
from server.org.tables import Location, OrgUnit, Project


class Asset(Table, tablename="asset"):
    code = Varchar(length=60, unique=True)  # printed on the label, e.g. UPS-B2-001
    name = Varchar(length=200)
    category = Varchar(length=40, index=True)  # matches a checklist's scope.asset_category
    site = Varchar(length=200, default="")
    location = Varchar(length=200, default="")
    place = ForeignKey(Location, null=True, on_delete=OnDelete.restrict)  # from the register
    org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.restrict)
    project = ForeignKey(Project, null=True, on_delete=OnDelete.restrict)
    serial_number = Varchar(length=100, default="")
    status = Varchar(length=20, default="in_service")  # in_service | out_of_service | retired
    created_at = Timestamptz(default=TimestamptzNow())


class InspectionSchedule(Table, tablename="inspection_schedule"):
    """A recurring inspection, for one asset or for every asset of a category."""

    asset = ForeignKey(Asset, null=True, on_delete=OnDelete.cascade, index=True)
    category = Varchar(length=40, null=True, default=None, index=True)
    checklist_key = Varchar(length=80)
    frequency = Varchar(length=20)  # daily ... yearly | every_n_days
    every_n_days = Integer(null=True, default=None)
    start_date = Date()
    grace_days = Integer(default=0)
    assignee = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    assignee_org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.set_null)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
