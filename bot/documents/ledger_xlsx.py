"""The hazard ledger (隐患排查台账, 000 §14(二)2) as .xlsx, built in memory with XlsxWriter: one row per hazard with
its before and after thumbnails (floating images: LibreOffice, WPS and older Excel all show them), a second sheet
with every status change, a third with what was exported and a digest of its rows. Frozen header, filters, A3
landscape with the header repeated on every page; overdue rows red, those due within 3 working days amber."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import IO, Any

import xlsxwriter
from PIL import Image

from bot.domain.deadlines import due_soon
from bot.domain.taxonomy import taxonomy
from bot.domain.workdays import WorkCalendar
from bot.i18n import N_, T, translate
from bot.notices.hazards import LEVEL_NAMES, STATUS_NAMES
from bot.ports import Ledger, LedgerRow

THUMB = (160, 120)  # pixels: a row is 96 points high to hold one
ROW_POINTS = 96
COLUMNS: tuple[tuple[str, int], ...] = (  # header, width in characters
    (N_("No."), 5),
    (N_("Number"), 17),
    (N_("Project"), 22),
    (N_("Found on"), 11),
    (N_("Reported by"), 10),
    (N_("Location"), 18),
    (N_("Category"), 14),
    (N_("Description"), 30),
    (N_("Basis"), 30),
    (N_("Level"), 14),
    (N_("Major-hazard criterion"), 14),
    (N_("Rectification measures"), 30),
    (N_("Responsible unit"), 20),
    (N_("Responsible person"), 12),
    (N_("Signed for"), 18),
    (N_("Deadline"), 11),
    (N_("Rectified on"), 11),
    (N_("Re-inspected by"), 10),
    (N_("Re-inspection result"), 12),
    (N_("Status"), 12),
    (N_("Working days overdue"), 10),
    (N_("Closed on time"), 10),
    (N_("Before"), 24),
    (N_("After"), 24),
)
EVENTS: tuple[tuple[str, int], ...] = (
    (N_("Number"), 17),
    (N_("When"), 17),
    (N_("Who"), 12),
    (N_("What"), 28),
    (N_("Note"), 40),
    (N_("Audit event"), 10),
)
ACTIONS = {
    "hazard.reported": N_("reported"),
    "hazard.received": N_("notice signed for"),
    "hazard.rectification_submitted": N_("rectification submitted"),
    "hazard.approved": N_("re-inspection passed, closed"),
    "hazard.rejected": N_("re-inspection failed"),
    "hazard.reopened": N_("reopened at the revisit"),
    "hazard.escalated": N_("escalated"),
    "hazard.objection": N_("objection at the revisit"),
}
RESULTS = {"approved": N_("passed"), "rejected": N_("failed")}


def thumbnail(data: bytes) -> bytes | None:
    """A 160×120 JPEG of a photo, or None when the bytes are not a readable image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", THUMB)  # a JPEG decodes straight at 1/2…1/8 scale, just above the thumbnail's size
            img.thumbnail(THUMB, Image.Resampling.BILINEAR, reducing_gap=None)  # from there a small step
            out = io.BytesIO()
            img.convert("RGB").save(out, "JPEG", quality=75)
            return out.getvalue()
    except (OSError, ValueError):
        return None


def digest(ledger: Ledger) -> str:
    """SHA-256 of the rows and events as canonical JSON: the same facts give the same digest."""
    facts = {"rows": [asdict(r) for r in ledger.rows], "events": [asdict(e) for e in ledger.events]}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def render(
    ledger: Ledger,
    locale: str,
    photo: Callable[[str], bytes | None],
    today: dt.date,
    generated_at: dt.datetime,
    cal: WorkCalendar,
) -> bytes:
    """The workbook's bytes (for a file sent in chat)."""
    out = io.BytesIO()
    write(out, ledger, locale, photo, today, generated_at, cal)
    return out.getvalue()


def write(
    out: IO[bytes],
    ledger: Ledger,
    locale: str,
    photo: Callable[[str], bytes | None],
    today: dt.date,
    generated_at: dt.datetime,
    cal: WorkCalendar,
) -> None:
    """The workbook into `out` (a file: no second copy in memory). `photo(sha)` reads an original (None when it
    is missing: the cell says so); `cal` tells the amber rows (due within 3 working days)."""

    def tr(key: str, **params: object) -> str:
        return translate(T(key, **params), locale)

    def shrink(sha: str) -> bytes | None:
        data = photo(sha)
        return thumbnail(data) if data is not None else None

    # Each photo read and shrunk once, however many rows show it, on every core (Pillow decodes without the GIL).
    uses = Counter(sha for r in ledger.rows for sha in (*r.before[:1], *r.after[:1]))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        thumbs = dict(zip(uses, pool.map(shrink, list(uses)), strict=True))

    def small(sha: str) -> bytes | None:
        """A thumbnail, let go after its last row: the workbook holds its own copy (peak memory)."""
        uses[sha] -= 1
        return thumbs.pop(sha, None) if uses[sha] <= 0 else thumbs.get(sha)

    rows_digest = digest(ledger)

    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_urls": False, "strings_to_formulas": False})
    book.set_properties({"title": tr(N_("Hazard ledger")), "comments": rows_digest})
    head = book.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True, "valign": "top"})
    cell = book.add_format({"text_wrap": True, "valign": "top", "border": 1})
    late = book.add_format({"text_wrap": True, "valign": "top", "border": 1, "bg_color": "#F8D0D0"})
    soon = book.add_format({"text_wrap": True, "valign": "top", "border": 1, "bg_color": "#FCE8C0"})

    sheet = book.add_worksheet(tr(N_("Hazard ledger"))[:31])
    sheet.set_landscape()
    sheet.set_paper(8)  # A3
    sheet.repeat_rows(0)
    sheet.fit_to_pages(1, 0)
    for col, (name, width) in enumerate(COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write(0, col, tr(name), head)
    sheet.freeze_panes(1, 2)
    sheet.autofilter(0, 0, max(1, len(ledger.rows)), len(COLUMNS) - 1)
    tax = taxonomy()
    for n, r in enumerate(ledger.rows, 1):
        style = _style(r, today, cal, cell, late, soon)
        group = tax.group(r.group_id)
        values = (
            n,
            r.number,
            r.project,
            r.found_on.isoformat(),
            r.reporter,
            r.location,
            group.name.get(locale) if group else r.group_id,
            r.description,
            r.basis,
            tr(LEVEL_NAMES[r.level]),
            r.major_id or "",
            r.suggestion,
            r.responsible_unit,
            r.responsible,
            r.received or tr(N_("not signed for")),
            r.deadline.isoformat(),
            r.rectified_on.isoformat() if r.rectified_on else "",
            r.reviewer,
            tr(RESULTS[r.result]) if r.result in RESULTS else "",
            tr(STATUS_NAMES[r.status]) if r.status in STATUS_NAMES else r.status,
            r.overdue_working_days,
            "" if r.on_time is None else tr(N_("yes")) if r.on_time else tr(N_("no")),
        )
        sheet.set_row(n, ROW_POINTS if (r.before or r.after) else None)
        for col, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(n, col, value, style)
            else:
                sheet.write_string(n, col, value, style)
        for col, shas in ((len(values), r.before), (len(values) + 1, r.after)):
            _photo_cell(sheet, n, col, shas, small, style, tr)

    events = book.add_worksheet(tr(N_("Status changes"))[:31])
    events.repeat_rows(0)
    for col, (name, width) in enumerate(EVENTS):
        events.set_column(col, col, width)
        events.write(0, col, tr(name), head)
    events.freeze_panes(1, 1)
    events.autofilter(0, 0, max(1, len(ledger.events)), len(EVENTS) - 1)
    for n, e in enumerate(ledger.events, 1):
        events.write_string(n, 0, e.number, cell)
        events.write_string(n, 1, f"{e.at:%Y-%m-%d %H:%M}", cell)
        events.write_string(n, 2, e.actor, cell)
        events.write_string(n, 3, tr(ACTIONS.get(e.action, e.action)), cell)
        events.write_string(n, 4, e.note, cell)
        events.write_number(n, 5, e.event_id, cell)

    about = book.add_worksheet(tr(N_("About this export"))[:31])
    about.set_column(0, 0, 24)
    about.set_column(1, 1, 70)
    for n, (key, value) in enumerate(
        (
            (tr(N_("Scope")), ledger.scope),
            (tr(N_("Period")), f"{ledger.start.isoformat()} – {ledger.end.isoformat()}"),
            (tr(N_("Hazards")), str(len(ledger.rows))),
            (tr(N_("Status changes")), str(len(ledger.events))),
            (tr(N_("Generated at")), f"{generated_at:%Y-%m-%d %H:%M:%S %z}"),
            (tr(N_("SHA-256 of the rows")), rows_digest),
        )
    ):
        about.write_string(n, 0, key, head)
        about.write_string(n, 1, value, cell)
    if not ledger.rows:
        sheet.write_string(1, 0, tr(N_("No hazards in this scope and period.")), cell)
    book.close()


def _style(r: LedgerRow, today: dt.date, cal: WorkCalendar, cell: Any, late: Any, soon: Any) -> Any:
    if r.status == "closed":
        return cell
    if r.overdue_working_days > 0:
        return late
    return soon if due_soon(r.deadline, today, cal) else cell


def _photo_cell(
    sheet: Any,
    row: int,
    col: int,
    shas: tuple[str, ...],
    small: Callable[[str], bytes | None],
    style: Any,
    tr: Callable[..., str],
) -> None:
    """The first photo's thumbnail floats over the cell; the cell names how many there are and their references."""
    refs = " ".join(sha[:12] for sha in shas)
    sheet.write_string(row, col, f"{len(shas)}: {refs}" if shas else "", style)
    for sha in shas[:1]:
        thumb = small(sha)
        if thumb is None:
            sheet.write_string(row, col, tr(N_("photo missing: {ref}"), ref=sha[:12]), style)
            continue
        options = {"image_data": io.BytesIO(thumb), "x_offset": 2, "y_offset": 14, "object_position": 1}
        sheet.insert_image(row, col, f"{sha[:12]}.jpg", options)
