"""`anzebot` — run the service and administer it. Errors print one clear line and exit non-zero."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import calendar_file, logs, rules_file
from bot.app import App
from bot.calendar_file import CalendarFileError
from bot.channels.base import ChannelError
from bot.channels.wecom import WeComClient
from bot.config import ConfigError, Settings
from bot.documents import forms, ledger_xlsx
from bot.documents.pdf import DocumentError
from bot.domain.deployment import Deployment
from bot.domain.rules import RulesError, describe
from bot.domain.service_plan import SERVICES, ContentError, parse_content
from bot.i18n import normalise_locale
from bot.ports import HazardRecord, Ledger, PlanRecord, ServiceReportRecord
from storage import (
    admin,
    agreements,
    audit,
    demo,
    experts,
    hazard_record,
    ledger,
    plan_record,
    plans,
    risks,
    service_report,
    training,
    visits,
)
from storage.db import make_engine, migrate, sessions
from storage.hazards import Hazards
from storage.inbox import Inbox, inbox_url
from storage.media import MediaStore
from storage.turn import Turn


class CliError(Exception):
    pass


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anzebot", description="安责险事故预防技术服务 chat service")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run", help="run everything configured")
    d = sub.add_parser("demo", help="seed the demo data if the database is empty, then run")
    d.add_argument("--no-run", action="store_true", help="only seed")
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="apply the migrations")

    org = sub.add_parser("org", help="organisations").add_subparsers(dest="sub", required=True)
    oa = org.add_parser("add")
    oa.add_argument("--kind", required=True, help="insurer|agency|construction|supervision|owner|association|authority")
    oa.add_argument("--name", required=True)
    oa.add_argument("--region")

    proj = sub.add_parser("project", help="projects").add_subparsers(dest="sub", required=True)
    pa = proj.add_parser("add")
    pa.add_argument("--code", required=True)
    pa.add_argument("--name", required=True)
    pa.add_argument("--address", default="")
    pa.add_argument("--region", default="", help="full name, e.g. 安徽省宣城市宣州区 (authorities reach by prefix)")
    pa.add_argument("--stage", default="")
    pa.add_argument("--risk", default="", choices=["", "high", "medium", "low"], help="the project's risk grade")
    pa.add_argument("--dangerous-works", default="", help="comma-separated 危大工程 list")
    pa.add_argument("--unit", action="append", default=[], help="organisation name or id taking part (repeat)")
    ps = proj.add_parser("stage", help="record a stage change: the risk register is refreshed for it")
    ps.add_argument("project")
    ps.add_argument("stage", help="e.g. 基础施工, 主体结构, 装饰装修, 竣工收尾")

    pol = sub.add_parser("policy", help="policies").add_subparsers(dest="sub", required=True)
    pla = pol.add_parser("add")
    pla.add_argument("--number", required=True)
    pla.add_argument("--project", required=True)
    pla.add_argument("--insurer", required=True)
    pla.add_argument("--premium", required=True)
    pla.add_argument("--start", required=True, type=_date)
    pla.add_argument("--end", required=True, type=_date)

    per = sub.add_parser("person", help="people").add_subparsers(dest="sub", required=True)
    pea = per.add_parser("add")
    pea.add_argument("--name", required=True)
    pea.add_argument("--org", required=True)
    pea.add_argument("--phone")
    pea.add_argument("--speciality", choices=["civil", "mechanical", "electrical"])
    pea.add_argument("--locale", choices=["zh_CN", "en"])

    inv = sub.add_parser("invite", help="issue an invite code (person + role + project, or a group chat)")
    inv.add_argument("--project", required=True)
    inv.add_argument("--person", help="person id or name (omit for a group-chat code)")
    inv.add_argument("--role")
    inv.add_argument("--days", type=int, default=None)
    inv.add_argument("--json", action="store_true")

    wc = sub.add_parser("wecom", help="WeCom group chats").add_subparsers(dest="sub", required=True)
    robot = wc.add_parser("robot", help="post a project's notices through a group robot webhook")
    robot.add_argument("--project", required=True)
    robot.add_argument("--key", required=True, help="the key= of the robot's webhook URL")
    robot.add_argument("--title", default="")
    appchat = wc.add_parser("appchat", help="create a WeCom group chat with the project's people and bind it")
    appchat.add_argument("--project", required=True)
    appchat.add_argument("--name", required=True)

    plan = sub.add_parser("plan", help="service plans").add_subparsers(dest="sub", required=True)
    pl = plan.add_parser("add", help="propose a project's service plan; the insurer confirms it in chat")
    pl.add_argument("--project", required=True)
    pl.add_argument("--experts", required=True, help="comma-separated names or ids (≥3: civil, mechanical, electrical)")
    pl.add_argument("--leader", required=True)
    pl.add_argument("--services", default="inspection", help="comma-separated: " + ",".join(SERVICES))
    pl.add_argument(
        "--content",
        required=True,
        type=Path,
        help="TOML: overview, measures, frequency, goals, guarantees [, staff] (000 §13; 004 附件3)",
    )
    visit = sub.add_parser("visit", help="visits").add_subparsers(dest="sub", required=True)
    va = visit.add_parser("add", help="schedule an on-site visit")
    va.add_argument("--project", required=True)
    va.add_argument("--date", required=True, type=_date)
    va.add_argument("--experts", help="default: the confirmed plan's expert group")
    va.add_argument("--leader")
    va.add_argument(
        "--kind",
        choices=("inspection", "deep", "campaign"),
        default="inspection",
        help="a regular inspection, the yearly deep inspection, or a special campaign (000 §14(二)2)",
    )
    va.add_argument("--topic", help="a campaign's subject, e.g. 脚手架坍塌")

    tr = sub.add_parser("training", help="training sessions, drills, learning hours").add_subparsers(
        dest="sub", required=True
    )
    ta = tr.add_parser("add", help="a session or drill; invites its audience and prints the venue's sign-in code")
    ta.add_argument("--kind", required=True, choices=["citywide", "custom", "prestart", "seasonal", "drill"])
    ta.add_argument("--drill", choices=["collapse", "fire", "electric", "crane", "fall"])
    ta.add_argument("--topic", required=True)
    ta.add_argument("--place", required=True)
    ta.add_argument("--start", required=True, help="local time, YYYY-MM-DD HH:MM")
    ta.add_argument("--end", required=True, help="local time, YYYY-MM-DD HH:MM")
    ta.add_argument("--projects", required=True, help="comma-separated project codes")
    ta.add_argument("--roles", default="project_manager,safety_officer", help="comma-separated roles invited")
    ta.add_argument("--organiser", help="who adds photos and the evaluation afterwards")
    th = tr.add_parser("hours", help="record online learning hours")
    th.add_argument("--person", required=True)
    th.add_argument("--year", required=True, type=int)
    th.add_argument("--hours", required=True, type=float)
    ti = tr.add_parser("import", help="online learning hours from a CSV: person,year,hours")
    ti.add_argument("file")

    due = sub.add_parser("due", help="what is due and late, across projects or for one")
    due.add_argument("--project")
    due.add_argument("--json", action="store_true")

    inbox = sub.add_parser("inbox", help="incoming updates not yet processed, or failed")
    inbox.add_argument("--failed", action="store_true", help="only those that failed for good")
    inbox.add_argument("--retry", type=int, metavar="ID", help="process this one again (the running service takes it)")
    inbox.add_argument("--json", action="store_true")

    rep = sub.add_parser("report", help="documents: the hazard ledger").add_subparsers(dest="sub", required=True)
    rl = rep.add_parser("ledger", help="隐患排查台账 (.xlsx) of a project, an insurer's projects or a region")
    where = rl.add_mutually_exclusive_group(required=True)
    where.add_argument("--project")
    where.add_argument("--insurer")
    where.add_argument("--region", help="a region's name or its beginning, e.g. 安徽省宣城市")
    rl.add_argument("--from", dest="start", required=True, type=_date)
    rl.add_argument("--to", dest="end", required=True, type=_date)
    rl.add_argument("--out", required=True, type=Path)
    rl.add_argument("--locale", default="zh_CN", choices=("zh_CN", "en"))
    rs = rep.add_parser("service-report", help="事故预防服务报告 of a visit (.pdf)")
    rs.add_argument("--visit", required=True, type=int)
    rs.add_argument("--out", required=True, type=Path)
    rs.add_argument("--locale", default="zh_CN", choices=("zh_CN", "en"))
    rp = rep.add_parser("plan", help="事故预防技术服务方案 of a project (.pdf)")
    rp.add_argument("--project", required=True)
    rp.add_argument("--out", required=True, type=Path)
    rp.add_argument("--locale", default="zh_CN", choices=("zh_CN", "en"))
    for name, what in (("notice", "风险隐患整改提示单"), ("recheck", "复查记录单")):
        form = rep.add_parser(name, help=f"{what} of one hazard (.pdf)")
        form.add_argument("number", help="XC-2026-000123")
        form.add_argument("--out", required=True, type=Path)
        form.add_argument("--locale", default="zh_CN", choices=("zh_CN", "en"))

    ag = sub.add_parser("agreement", help="service agreements (004 附件2)").add_subparsers(dest="sub", required=True)
    aa = ag.add_parser("add", help="record a policy's service agreement")
    aa.add_argument("--policy", required=True)
    aa.add_argument("--number", required=True)
    aa.add_argument("--signed", required=True, type=_date)
    aa.add_argument("--services", required=True, help="comma-separated: " + ",".join(SERVICES))
    aa.add_argument("--fee", help="the agreed service fee, CNY")
    aa.add_argument("--first-service-by", type=_date, help="a first-service date agreed in writing (附件2 二(三))")
    aa.add_argument("--contact", help="the insured's contact person (附件2 二(二))")
    al = ag.add_parser("list", help="the agreements")
    al.add_argument("--json", action="store_true")

    ex = sub.add_parser("expert", help="the expert library (002 §8–9)").add_subparsers(dest="sub", required=True)
    es = ex.add_parser("set", help="record or replace an expert's title, years, specialities and certificates")
    es.add_argument("--person", required=True)
    es.add_argument("--title", required=True, help="as written, e.g. 高级工程师")
    es.add_argument("--level", required=True, choices=("none", "junior", "intermediate", "senior", "professor"))
    es.add_argument("--years", required=True, type=int, help="years in building and municipal works safety")
    es.add_argument("--specialities", required=True, help="some of civil,mechanical,electrical,fire")
    es.add_argument("--certificate", action="append", default=[], help="NAME:NUMBER[:VALID-UNTIL], repeatable")
    es.add_argument("--rse", action="store_true", help="a registered safety engineer (建筑施工安全类, 中级及以上)")
    el = ex.add_parser("list", help="the library")
    el.add_argument("--json", action="store_true")

    rules = sub.add_parser("rules", help="the rules in force (ANZEBOT_RULES_FILE)").add_subparsers(
        dest="sub", required=True
    )
    rs = rules.add_parser("show", help="every value in force, where it came from, and its clause")
    rs.add_argument("--json", action="store_true")

    arc = sub.add_parser("archive", help="records").add_subparsers(dest="sub", required=True)
    arc.add_parser("verify", help="check the audit hash chain")
    return p


async def _with_session(settings: Settings, fn: Callable[[AsyncSession], Awaitable[Any]], *, write: bool = True) -> Any:
    engine = make_engine(settings.database_url)
    try:
        await migrate(engine)
        async with sessions(engine)() as s:
            if write:
                async with s.begin():
                    return await fn(s)
            return await fn(s)
    finally:
        await engine.dispose()


async def _training(args: argparse.Namespace, settings: Settings) -> None:
    now = dt.datetime.now(dt.UTC)
    if args.sub == "add":
        tz = ZoneInfo(settings.timezone)

        def local(text: str) -> dt.datetime:
            try:
                return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
            except ValueError:
                raise admin.AdminError(f"not a time: {text!r} (YYYY-MM-DD HH:MM)") from None

        session, code, warnings = await _with_session(
            settings,
            lambda s: training.add(
                s,
                kind=args.kind,
                topic=args.topic,
                place=args.place,
                starts_at=local(args.start),
                ends_at=local(args.end),
                projects=_split(args.projects),
                roles=_split(args.roles),
                organiser=args.organiser,
                drill=args.drill,
                tz=tz,
                now=now,
                min_hours=rules_file.load(settings.rules_file).training.min_offline_hours,
            ),
        )
        print(f"training {session.id} added; show this sign-in code at the venue: {code}")
        for w in warnings:
            print(f"warning: {w}")
    elif args.sub == "hours":
        await _with_session(
            settings, lambda s: training.record_hours(s, args.person, args.year, args.hours, "operator", now)
        )
        print(f"recorded {args.hours:g} h for {args.person} in {args.year}")
    else:
        try:
            text = await asyncio.to_thread(Path(args.file).read_text, "utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}") from None
        n = await _with_session(settings, lambda s: training.import_hours(s, text, Path(args.file).name, now))
        print(f"imported {n} rows")


async def _run(settings: Settings) -> None:
    await App(settings).run_until_signalled()


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    if args.cmd == "run":
        await _run(settings)
    elif args.cmd == "demo":

        async def seed(s: AsyncSession) -> demo.DemoResult | None:
            return await demo.seed(s) if await admin.is_empty(s) else None

        result = await _with_session(settings, seed)
        if result is None:
            print("The database already has data; demo not seeded again.")
        else:
            print("Demo data seeded. Invite codes (send one to the bot, or open https://t.me/<bot>?start=<code>):")
            for what, code in result.invites:
                print(f"  {code}  {what}")
        if not args.no_run:
            await _run(settings)
    elif args.cmd == "db":
        await _with_session(settings, lambda s: _noop())
        print("database is at the newest migration")
    elif args.cmd == "org":
        org = await _with_session(settings, lambda s: admin.add_org(s, args.kind, args.name, args.region))
        print(f"organisation {org.id}: {org.name}")
    elif args.cmd == "project" and args.sub == "stage":
        stage = args.stage
        await _with_session(
            settings, lambda s: risks.set_stage_cli(s, project=args.project, stage=stage, now=dt.datetime.now(dt.UTC))
        )
        print(f"{args.project} is now at {stage}; its risk register is to be refreshed")
    elif args.cmd == "project":
        works = [w.strip() for w in args.dangerous_works.split(",") if w.strip()]
        p = await _with_session(
            settings,
            lambda s: admin.add_project(
                s,
                code=args.code,
                name=args.name,
                address=args.address,
                region=args.region,
                stage=args.stage,
                risk=args.risk,
                dangerous_works=works,
                units=args.unit,
            ),
        )
        print(f"project {p.id}: {p.code} {p.name}")
    elif args.cmd == "policy":
        pol = await _with_session(
            settings,
            lambda s: admin.add_policy(
                s,
                number=args.number,
                project=args.project,
                insurer=args.insurer,
                premium=args.premium,
                start=args.start,
                end=args.end,
            ),
        )
        print(f"policy {pol.id}: {pol.number}")
    elif args.cmd == "person":
        per = await _with_session(
            settings,
            lambda s: admin.add_person(
                s, name=args.name, org=args.org, phone=args.phone, speciality=args.speciality, locale=args.locale
            ),
        )
        print(f"person {per.id}: {per.name}")
    elif args.cmd == "invite":
        days = args.days if args.days is not None else settings.invite_days
        if days < 1:
            raise CliError("--days must be at least 1")
        code, inv = await _with_session(
            settings, lambda s: admin.invite(s, project=args.project, person=args.person, role=args.role, days=days)
        )
        if args.json:
            print(
                json.dumps(
                    {
                        "code": code,
                        "kind": inv.kind,
                        "project_id": inv.project_id,
                        "person_id": inv.person_id,
                        "role": inv.role,
                        "expires_at": inv.expires_at.isoformat(),
                    }
                )
            )
        else:
            print(code)
    elif args.cmd == "wecom" and args.sub == "robot":
        b = await _with_session(
            settings,
            lambda s: admin.bind_chat(
                s, channel="wecom", chat_id=f"robot:{args.key}", project=args.project, title=args.title or None
            ),
        )
        print(f"project notices of {args.project} now go to the robot (binding {b.id})")
    elif args.cmd == "wecom":
        chat_id = await _create_appchat(settings, args.project, args.name)
        print(f"WeCom group chat {chat_id} created and bound to {args.project}")
    elif args.cmd == "plan":
        content = _plan_content(args.content)
        plan = await _with_session(
            settings,
            lambda s: plans.add_plan(
                s,
                project=args.project,
                experts=_split(args.experts),
                leader=args.leader,
                services=_split(args.services),
                content=content,
                now=dt.datetime.now(ZoneInfo(settings.timezone)),  # local: certificates expire on local days
                rules=rules_file.load(settings.rules_file).expert_groups,
            ),
        )
        print(
            f"service plan {plan.id} proposed; the project manager agrees to it in chat, then the insurer confirms it"
        )
    elif args.cmd == "visit":
        visit = await _with_session(
            settings,
            lambda s: visits.add_visit(
                s,
                project=args.project,
                on=args.date,
                experts=_split(args.experts) if args.experts else None,
                leader=args.leader,
                now=dt.datetime.now(ZoneInfo(settings.timezone)),  # local: certificates expire on local days
                rules=rules_file.load(settings.rules_file).expert_groups,
                kind=args.kind,
                topic=args.topic,
            ),
        )
        print(f"visit {visit.id} scheduled on {visit.scheduled_on.isoformat()}")
    elif args.cmd == "training":
        await _training(args, settings)
    elif args.cmd == "due":
        rows = await _due(settings, args.project)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        elif not rows:
            print("nothing open")
        else:
            for r in rows:
                unack = f"  not acknowledged by: {', '.join(r['unacknowledged'])}" if r["unacknowledged"] else ""
                print(
                    f"{r['number']}  {r['project']}  L{r['level']}  {r['status']:<10} {r['deadline']}  "
                    f"{r['state']}{unack}"
                )
    elif args.cmd == "inbox":
        return await _inbox(settings, args)
    elif args.cmd == "rules":
        _rules_show(settings, as_json=args.json)
    elif args.cmd == "expert":
        return await _expert(args, settings)
    elif args.cmd == "agreement":
        return await _agreement(args, settings)
    elif args.cmd == "report":
        return await _report(args, settings)
    elif args.cmd == "archive":
        result = await _with_session(settings, audit.verify, write=False)
        if not result.ok:
            print(
                f"audit chain BROKEN at event {result.first_bad_id}"
                + (f" ({result.event})" if result.event else "")
                + f": {result.reason} ({result.checked} events before it are intact)"
            )
            return 1
        print(f"audit chain intact: {result.checked} events")
    return 0


async def _create_appchat(settings: Settings, project: str, name: str) -> str:
    """appchat/create with the project's people who use the app (2–2000 members), then bind it."""
    if not (settings.wecom_corp_id and settings.wecom_secret):
        raise CliError("WeCom is not configured (ANZEBOT_WECOM_CORP_ID, ANZEBOT_WECOM_SECRET, …)")
    userids = await _with_session(settings, lambda s: admin.channel_users(s, "wecom", project), write=False)
    if len(userids) < 2:
        raise CliError(f"a WeCom group chat needs at least 2 of the project's people on WeCom; found {len(userids)}")
    client = WeComClient(settings.wecom_api_url, settings.wecom_corp_id, settings.wecom_secret)
    try:
        body = await client.call("appchat/create", {"name": name[:50], "owner": userids[0], "userlist": userids[:2000]})
    except ChannelError as exc:
        raise CliError(f"WeCom refused: {exc}") from exc
    finally:
        await client.close()
    chat_id = str(body["chatid"])
    await _with_session(
        settings, lambda s: admin.bind_chat(s, channel="wecom", chat_id=f"chat:{chat_id}", project=project, title=name)
    )
    return chat_id


def _plan_content(path: Path) -> dict[str, str]:
    try:
        return parse_content(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"plan content {path}: {exc.strerror or exc}") from None
    except ContentError as exc:
        raise CliError(f"plan content {path}: {exc}") from None


async def _agreement(args: argparse.Namespace, settings: Settings) -> int:
    if args.sub == "add":
        await _with_session(
            settings,
            lambda s: agreements.add_agreement(
                s,
                policy=args.policy,
                number=args.number,
                signed_on=args.signed,
                services=_split(args.services),
                fee=args.fee,
                first_service_by=args.first_service_by,
                contact=args.contact,
                now=dt.datetime.now(dt.UTC),
            ),
        )
        print(f"agreement {args.number} recorded for policy {args.policy}")
        return 0
    rows: list[dict[str, Any]] = await _with_session(settings, agreements.listing, write=False)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        first = f", first service by {r['first_service_by']}" if r["first_service_by"] else ""
        print(f"{r['number']}  policy {r['policy']}  signed {r['signed_on']}  {','.join(r['services'])}{first}")
    return 0


async def _expert(args: argparse.Namespace, settings: Settings) -> int:
    if args.sub == "set":
        await _with_session(
            settings,
            lambda s: experts.set_profile(
                s,
                person=args.person,
                title=args.title,
                level=args.level,
                years=args.years,
                specialities=_split(args.specialities),
                certificates=args.certificate,
                registered_safety_engineer=args.rse,
                now=dt.datetime.now(dt.UTC),
            ),
        )
        print(f"{args.person} is in the expert library")
        return 0
    rows: list[dict[str, Any]] = await _with_session(settings, experts.listing, write=False)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        certs = "; ".join(f"{c['name']} {c['number']} ≤{c['valid_until'] or '—'}" for c in r["certificates"])
        rse = " RSE" if r["registered_safety_engineer"] else ""
        print(
            f"{r['id']:>5}  {r['name']}  {r['title']} ({r['level']}{rse}), {r['years']} y, "
            f"{','.join(r['specialities'])}  {certs}"
        )
    return 0


def _rules_show(settings: Settings, *, as_json: bool) -> None:
    rows = list(describe(rules_file.load(settings.rules_file)))
    if as_json:
        print(json.dumps([vars(r) for r in rows], ensure_ascii=False))
        return
    print(f"rules file: {settings.rules_file or '(none: the defaults of the seeds)'}")
    for r in rows:
        value = json.dumps(r.value, ensure_ascii=False)
        print(f"{r.key} = {value}  [{r.source}]  {r.clause}\n    {r.what}")


def _setup(settings: Settings) -> Deployment:
    return Deployment(
        tz=ZoneInfo(settings.timezone),
        calendar=calendar_file.load(settings.calendar_file),
        rules=rules_file.load(settings.rules_file),
    )


async def _form(args: argparse.Namespace, settings: Settings) -> int:
    out: Path = args.out
    if out.suffix.lower() not in (".pdf", ".docx"):
        raise CliError("the form is written as .pdf or .docx: name the file FILE.pdf or FILE.docx")
    as_docx = out.suffix.lower() == ".docx"
    setup = _setup(settings)
    media = MediaStore(settings.media_dir, settings.media_max_bytes, setup.tz)
    locale, now = normalise_locale(args.locale), dt.datetime.now(setup.tz)
    try:
        if args.sub == "service-report":

            async def read_report(s: AsyncSession) -> tuple[ServiceReportRecord, bool]:
                return await service_report.of_visit(s, args.visit, setup.tz, setup.calendar)

            report_facts, final = await _with_session(settings, read_report, write=False)
            data = await asyncio.to_thread(forms.service_report, report_facts, locale, media.maybe, now, final, as_docx)
            what = f"the service report of visit {args.visit}"
        elif args.sub == "plan":

            async def read_plan(s: AsyncSession) -> PlanRecord:
                return await plan_record.record(s, await plan_record.current(s, args.project), setup.tz)

            plan_facts: PlanRecord = await _with_session(settings, read_plan, write=False)
            data = await asyncio.to_thread(forms.plan, plan_facts, locale, now, as_docx)
            what = f"the service plan of {args.project}"
        else:
            facts: HazardRecord = await _with_session(
                settings, lambda s: hazard_record.record(s, args.number, setup.tz, setup.calendar), write=False
            )
            make = forms.notice if args.sub == "notice" else forms.recheck
            data = await asyncio.to_thread(make, facts, locale, media.maybe, now, as_docx)
            what = f"{args.sub} of {facts.number}"
    except DocumentError as exc:
        raise CliError(str(exc)) from None
    try:
        await asyncio.to_thread(out.write_bytes, data)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"{out}: {what}, {len(data)} bytes")
    return 0


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    if args.sub in ("notice", "recheck", "plan", "service-report"):
        return await _form(args, settings)
    out: Path = args.out
    if out.suffix.lower() != ".xlsx":
        raise CliError("the ledger is written as .xlsx: name the file FILE.xlsx")
    setup = _setup(settings)
    now = dt.datetime.now(dt.UTC)
    today = setup.today(now)
    media = MediaStore(settings.media_dir, settings.media_max_bytes, setup.tz)

    async def read(s: AsyncSession) -> Ledger:
        ids = await ledger.scope_projects(s, project=args.project, insurer=args.insurer, region=args.region)
        scope = args.project or args.insurer or args.region
        return await ledger.read(s, ids, args.start, args.end, setup.tz, setup.calendar, today, scope)

    facts: Ledger = await _with_session(settings, read, write=False)

    def write() -> int:
        with out.open("wb") as target:  # straight into the file: no second copy of a large workbook in memory
            ledger_xlsx.write(
                target,
                facts,
                normalise_locale(args.locale),
                media.maybe,
                today,
                now.astimezone(setup.tz),
                setup.calendar,
            )
        return out.stat().st_size

    try:
        size = await asyncio.to_thread(write)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"{out}: {len(facts.rows)} hazards, {len(facts.events)} status changes, {size} bytes")
    return 0


async def _due(settings: Settings, project: str | None) -> list[dict[str, Any]]:
    setup = _setup(settings)

    async def report(s: AsyncSession) -> list[dict[str, Any]]:
        if project:
            await admin.find_project(s, project)  # an unknown code is an error, not "nothing open"
        return await Hazards(Turn(s, dt.datetime.now(dt.UTC), setup)).due_report(project)

    result: list[dict[str, Any]] = await _with_session(settings, report, write=False)
    return result


async def _inbox(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.inbox_url or inbox_url(settings.database_url), synchronous="FULL")
    box = Inbox(engine)
    try:
        await box.prepare()
        if args.retry is not None:
            if not await box.requeue(args.retry):
                raise CliError(f"no inbox row {args.retry} waiting or failed")
            print(f"inbox row {args.retry} queued again; the running service processes it within seconds")
            return 0
        rows = await box.listing(failed_only=args.failed)
        counts = await box.counts()
    finally:
        await engine.dispose()
    listed = [
        {
            "id": r.id,
            "channel": r.channel,
            "update": r.update_key,
            "status": r.status,
            "attempts": r.attempts,
            "received_at": r.received_at.isoformat(),
            "error": r.last_error or "",
        }
        for r in rows
    ]
    if args.json:
        print(json.dumps({"counts": counts, "rows": listed}, ensure_ascii=False))
        return 0
    print(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "the inbox is empty")
    for r in listed:
        line = f"{r['id']:>6}  {r['channel']:<9} {r['status']:<8} tries {r['attempts']:<2} {r['received_at']}"
        print(f"{line}  {r['error']}")
    return 0


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]


async def _noop() -> None:
    return None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "will assume non-transactional DDL" on every command
    args = parser().parse_args(argv)
    try:
        settings = Settings()
        logs.protect(settings.secrets())
        return asyncio.run(_main(args, settings))
    except (admin.AdminError, CliError, ConfigError, CalendarFileError, RulesError) as exc:
        print(f"anzebot: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"anzebot: setting {'.'.join(str(x) for x in first['loc'])}: {first['msg']}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
