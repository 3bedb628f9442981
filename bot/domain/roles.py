"""Roles people hold in a project and the actions each role may take (002 §16: the seven portals)."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    INSURER = "insurer"
    AGENCY = "agency"
    CONSTRUCTION = "construction"
    SUPERVISION = "supervision"
    OWNER = "owner"
    ASSOCIATION = "association"
    AUTHORITY = "authority"


class Role(StrEnum):
    PROJECT_MANAGER = "project_manager"  # 项目负责人
    SAFETY_OFFICER = "safety_officer"  # 安全员
    WORKER = "worker"  # 作业人员
    SUPERVISION_ENGINEER = "supervision_engineer"  # 监理工程师
    OWNER_REP = "owner_rep"  # 建设单位代表
    INSURER = "insurer"  # 保险机构联系人
    AGENCY_ADMIN = "agency_admin"  # 服务机构负责人
    EXPERT = "expert"  # 服务专家
    AUTHORITY = "authority"  # 行业主管部门
    ASSOCIATION = "association"  # 协会


class Action(StrEnum):
    REPORT_HAZARD = "report_hazard"
    VIEW_HAZARDS = "view_hazards"
    SUBMIT_RECTIFICATION = "submit_rectification"
    REVIEW_RECTIFICATION = "review_rectification"
    BIND_GROUP = "bind_group"


# Which organisation kind each role belongs to: an invite cannot give a person a role of another kind of unit.
ROLE_ORG_KIND: dict[Role, OrgKind] = {
    Role.PROJECT_MANAGER: OrgKind.CONSTRUCTION,
    Role.SAFETY_OFFICER: OrgKind.CONSTRUCTION,
    Role.WORKER: OrgKind.CONSTRUCTION,
    Role.SUPERVISION_ENGINEER: OrgKind.SUPERVISION,
    Role.OWNER_REP: OrgKind.OWNER,
    Role.INSURER: OrgKind.INSURER,
    Role.AGENCY_ADMIN: OrgKind.AGENCY,
    Role.EXPERT: OrgKind.AGENCY,
    Role.AUTHORITY: OrgKind.AUTHORITY,
    Role.ASSOCIATION: OrgKind.ASSOCIATION,
}

_ALL = frozenset(Role)
SITE_STAFF = frozenset({Role.PROJECT_MANAGER, Role.SAFETY_OFFICER})

PERMISSIONS: dict[Action, frozenset[Role]] = {
    # Experts on a visit, or site staff at any time, log hazards (DOMAIN.md "The hazard lifecycle" 1).
    Action.REPORT_HAZARD: frozenset(
        {Role.EXPERT, Role.PROJECT_MANAGER, Role.SAFETY_OFFICER, Role.SUPERVISION_ENGINEER}
    ),
    Action.VIEW_HAZARDS: _ALL,
    # The responsible (construction) unit submits the rectification evidence.
    Action.SUBMIT_RECTIFICATION: SITE_STAFF,
    # Who may review in principle; which reviewer a given hazard needs is levels.reviewer_roles().
    Action.REVIEW_RECTIFICATION: frozenset({Role.EXPERT, Role.SUPERVISION_ENGINEER}),
    Action.BIND_GROUP: frozenset(
        {Role.PROJECT_MANAGER, Role.SAFETY_OFFICER, Role.SUPERVISION_ENGINEER, Role.EXPERT, Role.AGENCY_ADMIN}
    ),
}


def allowed(roles: frozenset[Role] | set[Role], action: Action) -> bool:
    """True when any of the person's roles in the project permits the action."""
    return bool(PERMISSIONS[action] & set(roles))


def role_fits_org(role: Role, org_kind: OrgKind) -> bool:
    return ROLE_ORG_KIND[role] == org_kind
