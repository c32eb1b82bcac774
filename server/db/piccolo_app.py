"""The one Piccolo app that owns every table, so migrations form one sequence."""

import os

from piccolo.conf.apps import AppConfig

from server.accounts.tables import ApiToken, LoginSession, ProjectMember, User, UserRole
from server.assets.tables import Asset, InspectionSchedule
from server.audits.tables import Answer, Audit, Photo, Programme
from server.changelog.tables import ChangeLog
from server.checklists.tables import ChecklistVersion
from server.findings.tables import (
    AppSetting,
    CorrectiveAction,
    NcSourceItem,
    Nonconformance,
    ReminderSent,
)
from server.org.tables import OrgUnit, Project

APP_CONFIG = AppConfig(
    app_name="auditrail",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[
        ChecklistVersion,
        OrgUnit,
        Project,
        User,
        UserRole,
        ProjectMember,
        LoginSession,
        ApiToken,
        ChangeLog,
        Asset,
        InspectionSchedule,
        Programme,
        Audit,
        Answer,
        Photo,
        Nonconformance,
        NcSourceItem,
        CorrectiveAction,
        ReminderSent,
        AppSetting,
    ],
)
