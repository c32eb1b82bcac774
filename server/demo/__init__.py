"""The demo data set: loaded into an empty database by `make run` (AUDITRAIL_DEMO=1)
and by `auditrail demo`. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.accounts.roles import Role
from server.accounts.tables import User
from server.accounts.users import UserInput, create_user
from server.changelog import record
from server.changelog.record import SYSTEM
from server.demo.assets import load_demo_assets
from server.demo.audits import load_demo_audits
from server.org.tables import OrgUnit, Project

ORG_UNITS = [
    ("QA", "质量部", "Quality Department"),
    ("PMO", "项目管理部", "Project Management Department"),
    ("OPS", "运行维护部", "O&M Department"),
    ("BIZ", "商务部", "Business Department"),
]

PROJECTS = [
    (
        "P-2026-001",
        "市级政务云运维服务项目",
        "City government cloud O&M service",
        "OPS",
        "execution",
        "市大数据中心",
    ),
    (
        "P-2026-002",
        "医院信息系统升级项目",
        "Hospital information system upgrade",
        "PMO",
        "plan",
        "市第一人民医院",
    ),
    ("P-2026-003", "园区网络改造项目", "Campus network refit", "PMO", "closure", "高新区管委会"),
]


DEMO_PASSWORD = "demo"
# login = role name; (display name, department, project codes)
USERS = {
    Role.admin: ("系统管理员 Admin", "QA", []),
    Role.quality_manager: ("王质量 Wang (Quality Manager)", "QA", []),
    Role.auditor: ("李审核 Li (Auditor)", "QA", ["P-2026-001", "P-2026-002", "P-2026-003"]),
    Role.engineer: ("张工程 Zhang (Engineer)", "OPS", ["P-2026-001"]),
    Role.owner: ("赵负责 Zhao (Action Owner)", "PMO", ["P-2026-002"]),
    Role.management_rep: ("陈管代 Chen (Management Representative)", "QA", []),
    Role.quality_specialist: ("刘质检 Liu (Quality Specialist)", "QA", []),
    Role.department_head: ("孙部长 Sun (O&M Department Head)", "OPS", []),
    Role.project_manager: ("周经理 Zhou (Project Manager)", "OPS", ["P-2026-001"]),
}
# Whose department and project the scoped demo roles lead: their grants follow from these.
HEADS = {"OPS": Role.department_head}
MANAGERS = {"P-2026-001": Role.project_manager}


async def load_demo(data_dir: Path) -> dict[str, int]:
    """Create what is missing of the demo set; returns how many rows were added.
    `data_dir` is where the demo audit's photos are stored."""
    added = {"org_units": 0, "projects": 0, "users": 0}
    units: dict[str, int] = {}
    for code, zh, en in ORG_UNITS:
        row = await OrgUnit.objects().get(OrgUnit.code == code)
        if row is None:
            row = await record.create(OrgUnit(code=code, name_zh=zh, name_en=en), SYSTEM)
            added["org_units"] += 1
        units[code] = row.id
    for code, zh, en, unit, phase, client in PROJECTS:
        if not await Project.exists().where(Project.code == code):
            await record.create(
                Project(
                    code=code,
                    name_zh=zh,
                    name_en=en,
                    org_unit=units[unit],
                    phase=phase,
                    client=client,
                ),
                SYSTEM,
            )
            added["projects"] += 1
    project_ids = {p["code"]: p["id"] for p in await Project.select(Project.code, Project.id)}
    for role, (name, unit, projects) in USERS.items():
        if await User.exists().where(User.login == role.value):
            continue
        data = UserInput(
            login=role.value,
            name=name,
            roles=[_grant(role, units, project_ids)],
            org_unit=units[unit],
            projects=[project_ids[c] for c in projects],
        )
        await create_user(data, DEMO_PASSWORD, SYSTEM, enforce_policy=False)
        added["users"] += 1
    await _lead(OrgUnit, HEADS, "head")
    await _lead(Project, MANAGERS, "manager")
    added["assets_and_schedules"] = await load_demo_assets()
    added["audits"] = await load_demo_audits(data_dir)
    return added


def _grant(role: Role, units: dict[str, int], projects: dict[str, int]) -> str:
    """The scoped roles hold for the one unit or project they lead, not everywhere."""
    for code, leader in HEADS.items():
        if leader is role:
            return f"{role.value}@unit:{units[code]}"
    for code, leader in MANAGERS.items():
        if leader is role:
            return f"{role.value}@project:{projects[code]}"
    return role.value


async def _lead(table: Any, leaders: dict[str, Role], column: str) -> None:
    """Make the demo's head/manager lead their unit/project, unless someone already does."""
    for code, role in leaders.items():
        row = await table.objects().get(table.code == code)
        user = await User.select(User.id).where(User.login == role.value).first()
        if row is not None and user is not None and getattr(row, column) is None:
            await record.update(row, SYSTEM, {column: user["id"]}, reason="demo")


async def database_is_empty() -> bool:
    return await OrgUnit.count() == 0
