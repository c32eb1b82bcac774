"""Demo equipment: a dozen assets across two sites, and a schedule for each shipped
inspection checklist. Idempotent: existing codes and schedules are left alone.

Start dates are relative to the day the demo is loaded, so a fresh demo shows
something overdue, something due today and something coming up.
"""

from __future__ import annotations

from datetime import timedelta

from server.accounts.tables import User
from server.assets.tables import Asset, InspectionSchedule
from server.changelog import record
from server.changelog.record import SYSTEM
from server.checklists import store
from server.core.clock import today
from server.org.tables import OrgUnit, Project

SITE_A = "市大数据中心A栋"
SITE_B = "高新区分中心"

# code, name, category, site, location, department, project, serial number
ASSETS = [
    ("SR-A-3F", "A栋3楼主机房", "server_room", SITE_A, "3F 主机房", "OPS", "P-2026-001", ""),
    ("SR-B-1F", "分中心1楼机房", "server_room", SITE_B, "1F 机房", "OPS", "", ""),
    (
        "SRV-A-001",
        "政务云计算节点01",
        "server",
        SITE_A,
        "3F A03机柜 U10-U11",
        "OPS",
        "P-2026-001",
        "CN7J2K0001",
    ),
    (
        "SRV-A-002",
        "政务云计算节点02",
        "server",
        SITE_A,
        "3F A03机柜 U13-U14",
        "OPS",
        "P-2026-001",
        "CN7J2K0002",
    ),
    (
        "NET-A-CORE-01",
        "核心交换机01",
        "network_device",
        SITE_A,
        "3F A01机柜",
        "OPS",
        "P-2026-001",
        "21980105812SJ9000001",
    ),
    (
        "NET-B-FW-01",
        "分中心边界防火墙",
        "network_device",
        SITE_B,
        "1F B01机柜",
        "OPS",
        "",
        "FG100F0000001",
    ),
    ("UPS-A-001", "A栋UPS主机1号", "ups", SITE_A, "3F 配电间", "OPS", "P-2026-001", "UPS2026A001"),
    ("UPS-B-001", "分中心UPS主机", "ups", SITE_B, "1F 配电间", "OPS", "", "UPS2026B001"),
    (
        "AC-A-001",
        "A栋精密空调1号",
        "precision_ac",
        SITE_A,
        "3F 主机房东侧",
        "OPS",
        "P-2026-001",
        "AC2026A001",
    ),
    ("AC-B-001", "分中心精密空调", "precision_ac", SITE_B, "1F 机房北侧", "OPS", "", "AC2026B001"),
    ("SYS-GOVCLOUD", "市级政务云平台", "system", SITE_A, "", "OPS", "P-2026-001", ""),
    ("SYS-HIS", "医院信息系统", "system", SITE_B, "", "PMO", "P-2026-002", ""),
]

# category, checklist, frequency, start (days from today), grace days, assignee
# (a login, or "unit:CODE" for a department's engineers)
SCHEDULES = [
    ("server_room", "inspection.server_room.daily", "daily", -2, 0, "unit:OPS"),
    ("server", "inspection.server.weekly", "weekly", 0, 1, "unit:OPS"),
    ("network_device", "inspection.network_device.weekly", "weekly", -9, 1, "unit:OPS"),
    ("ups", "inspection.ups.weekly", "weekly", 2, 1, "engineer"),
    ("precision_ac", "inspection.precision_ac.weekly", "weekly", -1, 2, "engineer"),
    ("system", "inspection.system.pm_quarterly", "quarterly", 20, 7, "unit:OPS"),
    ("system", "inspection.system.pm_half_yearly", "half_yearly", 60, 14, "unit:OPS"),
    ("system", "inspection.system.full_yearly", "yearly", -5, 30, "unit:OPS"),
]


async def load_demo_assets() -> int:
    """Create the demo assets and schedules that are missing; returns how many rows."""
    units = {u["code"]: u["id"] for u in await OrgUnit.select(OrgUnit.code, OrgUnit.id)}
    projects = {p["code"]: p["id"] for p in await Project.select(Project.code, Project.id)}
    added = 0
    for code, name, category, site, location, unit, project, serial in ASSETS:
        if await Asset.exists().where(Asset.code == code):
            continue
        await record.create(
            Asset(
                code=code,
                name=name,
                category=category,
                site=site,
                location=location,
                org_unit=units.get(unit),
                project=projects.get(project) if project else None,
                serial_number=serial,
                status="in_service",
            ),
            SYSTEM,
        )
        added += 1
    start = today()
    for category, key, frequency, offset, grace, assignee in SCHEDULES:
        if await store.get(key) is None:
            continue  # the checklist library does not ship it (any more)
        exists = await InspectionSchedule.exists().where(
            InspectionSchedule.asset.is_null()
            & (InspectionSchedule.category == category)
            & (InspectionSchedule.checklist_key == key)
        )
        if exists:
            continue
        user_id = unit_id = None
        if assignee.startswith("unit:"):
            unit_id = units.get(assignee.removeprefix("unit:"))
        else:
            row = await User.select(User.id).where(User.login == assignee).first()
            user_id = row["id"] if row else None
        await record.create(
            InspectionSchedule(
                category=category,
                checklist_key=key,
                frequency=frequency,
                start_date=start + timedelta(days=offset),
                grace_days=grace,
                assignee=user_id,
                assignee_org_unit=unit_id,
                active=True,
            ),
            SYSTEM,
        )
        added += 1
    return added
