"""Every table of every domain, as the one Piccolo app that owns them all, so migrations
form one sequence (PICCOLO_CONF's APP_REGISTRY names this module)."""

import os

from piccolo.conf.apps import AppConfig

from server.accounts.tables import (
    ApiToken,
    LoginAttempt,
    LoginSession,
    ProjectMember,
    User,
    UserRole,
)
from server.assets.tables import Asset, InspectionSchedule
from server.audits.tables import Answer, Audit, AuditMember, Photo, Programme
from server.changelog.tables import ChangeLog
from server.checklists.tables import ChecklistVersion
from server.findings.tables import (
    AppSetting,
    CorrectiveAction,
    NcAttachment,
    NcSourceItem,
    Nonconformance,
    ReminderSent,
)
from server.org.tables import Location, OrgUnit, Project

APP_CONFIG = AppConfig(
    app_name="auditrail",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "db", "piccolo_migrations"),
    table_classes=[
        ChecklistVersion,
        OrgUnit,
        Project,
        Location,
        User,
        UserRole,
        ProjectMember,
        LoginSession,
        ApiToken,
        LoginAttempt,
        ChangeLog,
        Asset,
        InspectionSchedule,
        Programme,
        Audit,
        AuditMember,
        Answer,
        Photo,
        Nonconformance,
        NcSourceItem,
        CorrectiveAction,
        NcAttachment,
        ReminderSent,
        AppSetting,
    ],
)
