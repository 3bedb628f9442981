"""The rectification notice (风险隐患整改提示单, 000 附件3) and the re-inspection record (复查记录单) of one hazard,
in the reader's language: the seed forms' fields, the photos with their capture and receipt times, and what was
confirmed in chat printed where the forms have signatures — who pressed which button and when, or "not signed"."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from bot.documents import word
from bot.documents.pdf import Form, PhotoIn, Section, render
from bot.domain.taxonomy import taxonomy
from bot.i18n import N_, T, translate
from bot.notices.hazards import LEVEL_NAMES, STATUS_NAMES
from bot.notices.risks import ACCIDENT_TYPES, RANKS
from bot.notices.training import KIND_NAMES as TRAINING_KINDS
from bot.notices.visits import PLAN_PARTS, SERVICE_NAMES, VISIT_KINDS
from bot.ports import HazardRecord, PhotoRef, PlanRecord, RectRecord, ServiceReportRecord

NOT_SIGNED = N_("not signed")
DECISIONS = {"approved": N_("passed"), "rejected": N_("failed"), None: N_("waiting for the re-inspection")}

Loader = Callable[[str], bytes | None]


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else ""


def _photos(refs: tuple[PhotoRef, ...], load: Loader, tr: Callable[..., str], label: str) -> tuple[PhotoIn, ...]:
    out = []
    for n, p in enumerate(refs, 1):
        taken = tr(N_("taken {at}"), at=_when(p.taken_at)) if p.taken_at else tr(N_("no capture time"))
        received = tr(N_("received {at}"), at=_when(p.received_at))
        caption = f"{label} {n} · {taken} · {received} · {p.sha256[:12]}"
        out.append(PhotoIn(load(p.sha256), caption, f"{label} {n}"))
    return tuple(out)


def _missing(refs: tuple[PhotoRef, ...], load: Loader, tr: Callable[..., str]) -> list[tuple[str, str]]:
    gone = [p.sha256[:12] for p in refs if load(p.sha256) is None]
    return [(tr(N_("Photos missing")), " ".join(gone))] if gone else []


def _head(r: HazardRecord, tr: Callable[..., str], locale: str) -> list[tuple[str, str]]:
    group = taxonomy().group(r.group_id)
    return [
        (tr(N_("Number")), r.number),
        (tr(N_("Project")), r.project),
        (tr(N_("Address")), r.address),
        (tr(N_("Insurer")), r.insurer),
        (tr(N_("Service agency")), r.agency),
        (tr(N_("Found on")), _when(r.found_at)),
        (tr(N_("Reported by")), r.reporter),
        (tr(N_("Location")), r.location),
        (tr(N_("Category")), group.name.get(locale) if group else r.group_id),
        (tr(N_("Description")), r.description),
        (tr(N_("Level")), tr(LEVEL_NAMES[r.level])),
        (tr(N_("Basis")), r.basis or "—"),
    ]


def _footer(r: HazardRecord, kind: str, tr: Callable[..., str]) -> str:
    """A short id of the printed facts: the same record prints the same id."""
    digest = hashlib.sha256(repr((kind, r)).encode()).hexdigest()[:16]
    return tr(N_("anzebot · {number} · document id {id}"), number=r.number, id=digest)


def output(form: Form, at: dt.datetime, as_docx: bool) -> bytes:
    """The form as PDF/A (typst) or as .docx (docxtpl)."""
    return word.render(form) if as_docx else render(form, at)


def notice(r: HazardRecord, locale: str, load: Loader, at: dt.datetime, as_docx: bool = False) -> bytes:
    def tr(key: str, **params: object) -> str:
        return translate(T(key, **params), locale)

    contingency = tr(N_("Stop work at the location at once and keep people out until the re-inspection passes."))
    fields = [
        *_head(r, tr, locale),
        (tr(N_("Responsible unit")), r.construction_unit),
        (tr(N_("Responsible person")), r.responsible),
        (tr(N_("Rectification measures")), r.suggestion),
        (
            tr(N_("Time limit")),
            tr(N_("{date} ({n} working days)"), date=r.deadline.isoformat(), n=r.deadline_working_days),
        ),
        (tr(N_("Contingency")), contingency if r.stop_work else "—"),
        *_missing(r.photos, load, tr),
    ]
    receipt = Section(
        tr(N_("Receipt")),
        (
            (tr(N_("Signed for by")), r.received_by or tr(NOT_SIGNED)),
            (tr(N_("Signed at")), _when(r.received_at) or tr(NOT_SIGNED)),
            (tr(N_("How")), tr(N_("pressed “Sign for it” in chat")) if r.received_at else "—"),
        ),
    )
    form = Form(
        tr(N_("Hazard rectification notice")),
        tr(N_("Issued {at}"), at=_when(r.found_at)),
        tuple(fields),
        _footer(r, "notice", tr),
        "zh" if locale.startswith("zh") else "en",
        _photos(r.photos, load, tr, tr(N_("Before"))),
        (receipt,),
    )
    return output(form, at, as_docx)


def _round(n: int, x: RectRecord, load: Loader, tr: Callable[..., str]) -> Section:
    fields = [
        (tr(N_("Submitted by")), x.submitted_by),
        (tr(N_("Submitted at")), _when(x.submitted_at)),
        (tr(N_("What was done")), x.note or "—"),
        (tr(N_("Re-inspection result")), tr(DECISIONS.get(x.decision, DECISIONS[None]))),
        (tr(N_("Reason")), x.reason or "—"),
        (tr(N_("Re-inspected by")), x.decided_by or tr(NOT_SIGNED)),
        (tr(N_("Re-inspected at")), _when(x.decided_at) or tr(NOT_SIGNED)),
        *_missing(x.photos, load, tr),
    ]
    return Section(tr(N_("Round {n}"), n=n), tuple(fields), _photos(x.photos, load, tr, tr(N_("After"))))


def recheck(r: HazardRecord, locale: str, load: Loader, at: dt.datetime, as_docx: bool = False) -> bytes:
    def tr(key: str, **params: object) -> str:
        return translate(T(key, **params), locale)

    fields = [
        *_head(r, tr, locale),
        (tr(N_("Rectification measures")), r.suggestion),
        (tr(N_("Deadline")), r.deadline.isoformat()),
        (tr(N_("Status")), tr(STATUS_NAMES[r.status]) if r.status in STATUS_NAMES else r.status),
        *_missing(r.photos, load, tr),
    ]
    rounds = tuple(_round(n, x, load, tr) for n, x in enumerate(r.rectifications, 1))
    if not rounds:
        rounds = (Section(tr(N_("Round {n}"), n=1), ((tr(N_("Submitted by")), tr(N_("nothing submitted yet"))),)),)
    form = Form(
        tr(N_("Hazard re-inspection record")),
        tr(N_("Printed {at}"), at=_when(at)),
        tuple(fields),
        _footer(r, "recheck", tr),
        "zh" if locale.startswith("zh") else "en",
        _photos(r.photos, load, tr, tr(N_("Before"))),
        rounds,
    )
    return output(form, at, as_docx)


def plan(r: PlanRecord, locale: str, at: dt.datetime, as_docx: bool = False) -> bytes:
    """The service plan (000 附件1; 004 附件3): the parties, the content, the expert group, the agreement and the
    confirmation recorded in chat ("not signed" where they are missing)."""

    def tr(key: str, **params: object) -> str:
        return translate(T(key, **params), locale)

    head = (
        (tr(N_("Project")), r.project),
        (tr(N_("Address")), r.address),
        (tr(N_("Insurer")), r.insurer),
        (tr(N_("Policy")), r.policy),
        (tr(N_("Service agency")), r.agency),
        (tr(N_("Services")), "、".join(tr(SERVICE_NAMES.get(x, x)) for x in r.services)),
    )
    content = tuple((tr(name), r.content[key]) for key, name in PLAN_PARTS.items() if r.content.get(key))
    group = tuple(
        (name, " · ".join(x for x in (title, specialities) if x) or "—") for name, title, specialities in r.experts
    )
    signed = (
        (tr(N_("Agreed by the insured")), r.agreed_by or tr(NOT_SIGNED)),
        (tr(N_("Agreed at")), _when(r.agreed_at) or tr(NOT_SIGNED)),
        (tr(N_("Confirmed by the insurer")), r.confirmed_by or tr(NOT_SIGNED)),
        (tr(N_("Confirmed at")), _when(r.confirmed_at) or tr(NOT_SIGNED)),
    )
    digest = hashlib.sha256(repr(("plan", r)).encode()).hexdigest()[:16]
    form = Form(
        tr(N_("Accident prevention service plan")),
        tr(N_("Printed {at}"), at=_when(at)),
        head,
        tr(N_("anzebot · {number} · document id {id}"), number=r.project, id=digest),
        "zh" if locale.startswith("zh") else "en",
        (),
        (
            Section(tr(N_("Service plan")), content),
            Section(tr(N_("Expert group (leader: {leader})"), leader=r.leader), group),
            Section(tr(N_("Agreement and confirmation")), signed),
        ),
    )
    return output(form, at, as_docx)


SIGNOFFS = {
    "insured": N_("Insured's representative"),
    "agency": N_("Agency's representative"),
    "insurer": N_("Insurer's risk manager"),
}


def service_report(
    r: ServiceReportRecord, locale: str, load: Loader, at: dt.datetime, final: bool, as_docx: bool = False
) -> bytes:
    """004 附件4 / 000 附件2: the insured's information, the staff, the service content (summary, trainings and
    drills, the risk register, the hazards with photos), and the three sign-offs ("not signed" where missing)."""

    def tr(key: str, **params: object) -> str:
        return translate(T(key, **params), locale)

    head = (
        (tr(N_("Insured")), r.insured),
        (tr(N_("Project")), r.project),
        (tr(N_("Address")), r.address),
        (tr(N_("Policy")), r.policy),
        (tr(N_("Insurer")), r.insurer),
        (tr(N_("Service agency")), r.agency),
        (tr(N_("Service date")), r.service_on.isoformat()),
        (tr(N_("Service")), tr(VISIT_KINDS.get(r.kind, r.kind))),
    )
    staff = tuple((name, " · ".join(x for x in (title, what) if x) or "—") for name, title, what in r.staff)
    sections = [
        Section(tr(N_("Technical staff (leader: {leader})"), leader=r.leader), staff),
        Section(tr(N_("Service content")), ((tr(N_("Summary")), r.summary or "—"),)),
    ]
    if r.trainings:
        rows = tuple(
            (tr(TRAINING_KINDS.get(kind, kind)), tr(N_("{topic} · {n} signed in"), topic=topic, n=n))
            for kind, topic, n in r.trainings
        )
        sections.append(Section(tr(N_("Trainings and drills")), rows))
    risk_rows = tuple(
        (
            f"{n}. {name}",
            f"{work} · {tr(ACCIDENT_TYPES.get(kind, kind))} · {tr(RANKS.get(rank, ''))} · {basis} · {measures}",
        )
        for n, (work, name, kind, basis, measures, rank) in enumerate(r.risks, 1)
    )
    sections.append(Section(tr(N_("Risk identification list")), risk_rows or ((tr(N_("None entered")), "—"),)))
    for n, h in enumerate(r.hazards, 1):
        group = taxonomy().group(h.group_id)
        sections.append(
            Section(
                tr(N_("Hazard {n}: {number}"), n=n, number=h.number),
                (
                    (tr(N_("Description")), h.description),
                    (tr(N_("Location")), h.location),
                    (tr(N_("Category")), group.name.get(locale) if group else h.group_id),
                    (tr(N_("Basis")), h.basis or "—"),
                    (tr(N_("Rectification measures")), h.suggestion),
                    (tr(N_("Level")), tr(LEVEL_NAMES[h.level])),
                    *_missing(h.photos, load, tr),
                ),
                _photos(h.photos, load, tr, tr(N_("Before"))),
            )
        )
    if not r.hazards:
        sections.append(Section(tr(N_("Hazard list")), ((tr(N_("None found on this visit")), "—"),)))
    sections.append(
        Section(
            tr(N_("Sign-offs")),
            tuple(
                (tr(SIGNOFFS[key]), f"{name} {_when(when)}" if when else tr(NOT_SIGNED))
                for key, name, when in r.signoffs
            ),
        )
    )
    digest = hashlib.sha256(repr(("service-report", r)).encode()).hexdigest()[:16]
    form = Form(
        tr(N_("Accident prevention service report")),
        tr(N_("Final")) if final else tr(N_("Draft — printed {at}"), at=_when(at)),
        head,
        tr(N_("anzebot · {number} · document id {id}"), number=r.project, id=digest),
        "zh" if locale.startswith("zh") else "en",
        (),
        tuple(sections),
    )
    return output(form, at, as_docx)
