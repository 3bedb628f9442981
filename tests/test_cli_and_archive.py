"""The operator's CLI against a real database file, and the audit chain's tamper detection."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.cli import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("ANZEBOT_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("ANZEBOT_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the working copy
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_operator_sets_up_a_project_and_issues_invites(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["db", "upgrade"], capsys)[0] == 0
    assert run(["org", "add", "--kind", "insurer", "--name", "某财险宣城支公司"], capsys)[0] == 0
    assert run(["org", "add", "--kind", "construction", "--name", "某建工"], capsys)[0] == 0
    code, out, _ = run(
        [
            "project",
            "add",
            "--code",
            "P1",
            "--name",
            "一号工地",
            "--unit",
            "某建工",
            "--dangerous-works",
            "深基坑工程, 高大模板工程",
        ],
        capsys,
    )
    assert code == 0 and "P1" in out
    assert (
        run(
            [
                "policy",
                "add",
                "--number",
                "POL-1",
                "--project",
                "P1",
                "--insurer",
                "某财险宣城支公司",
                "--premium",
                "120000",
                "--start",
                "2026-01-01",
                "--end",
                "2027-06-30",
            ],
            capsys,
        )[0]
        == 0
    )
    assert run(["person", "add", "--name", "陈经理", "--org", "某建工"], capsys)[0] == 0
    code, out, _ = run(
        ["invite", "--project", "P1", "--person", "陈经理", "--role", "project_manager", "--json"], capsys
    )
    assert code == 0
    invite = json.loads(out)
    assert len(invite["code"]) == 8 and invite["role"] == "project_manager" and invite["kind"] == "person"
    code, out, _ = run(["invite", "--project", "P1"], capsys)
    assert code == 0 and len(out.strip()) == 8
    with sqlite3.connect(db) as conn:
        works = conn.execute("select dangerous_works from projects").fetchone()[0]
        assert json.loads(works) == ["深基坑工程", "高大模板工程"]
        # Codes are kept only as hashes.
        assert conn.execute("select count(*) from invites where code_hash = ?", (invite["code"],)).fetchone()[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["org", "add", "--kind", "bank", "--name", "X"], "kind must be one of"),
        (["project", "add", "--code", "P9", "--name", "x", "--unit", "nobody"], "no organisation"),
        (
            [
                "policy",
                "add",
                "--number",
                "N",
                "--project",
                "P9",
                "--insurer",
                "x",
                "--premium",
                "1",
                "--start",
                "2026-02-01",
                "--end",
                "2026-01-01",
            ],
            "must end after it starts",
        ),
        (["invite", "--project", "nope"], "no project"),
        (["person", "add", "--name", "A", "--org", "missing"], "no organisation"),
    ],
)
def test_errors_are_one_clear_line_and_exit_non_zero(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(args, capsys)
    assert code == 1
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_role_cannot_be_given_to_the_wrong_kind_of_unit(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["org", "add", "--kind", "insurer", "--name", "保险"], capsys)
    run(["project", "add", "--code", "P1", "--name", "x"], capsys)
    run(["person", "add", "--name", "周保险", "--org", "保险"], capsys)
    code, _, err = run(["invite", "--project", "P1", "--person", "周保险", "--role", "expert"], capsys)
    assert code == 1 and "cannot hold the role expert" in err


def test_archive_verify_passes_then_names_the_edited_row(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--no-run"], capsys)[0] == 0
    code, out, _ = run(["archive", "verify"], capsys)
    assert code == 0 and "intact" in out
    events = int(out.split(":")[1].split()[0])
    assert events > 20
    with sqlite3.connect(db) as conn:  # a manual edit of one audit row
        conn.execute("update audit_events set data = replace(data, '}', ',\"x\":1}') where id = 12")
        assert conn.total_changes == 1
    code, out, _ = run(["archive", "verify"], capsys)
    assert code == 1 and "event 12" in out and "11 events before it are intact" in out
    with sqlite3.connect(db) as conn:
        action, kind, obj = conn.execute(
            "select action, object_type, object_id from audit_events where id = 12"
        ).fetchone()
    assert f"({action} on {kind} {obj} at " in out and " UTC)" in out  # which event, not only its number


def test_archive_verify_notices_a_deleted_last_row(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["demo", "--no-run"], capsys)
    with sqlite3.connect(db) as conn:
        last = conn.execute("select max(id) from audit_events").fetchone()[0]
        conn.execute("delete from audit_events where id = ?", (last,))
    code, out, _ = run(["archive", "verify"], capsys)
    assert code == 1 and f"event {last}" in out


def test_demo_seeds_once(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--no-run"], capsys)
    assert code == 0 and "Invite codes" in out and "张班长 → XC-P001 worker" in out
    code, out, _ = run(["demo", "--no-run"], capsys)
    assert code == 0 and "already has data" in out


def test_rules_show_lists_every_value_its_source_and_clause(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.domain.rules import Rules

    rules = tmp_path / "rules.toml"
    rules.write_text('[visits]\nreport_working_days = 7\n\n[complaints]\nextension_approver = "complainant"\n')
    monkeypatch.setenv("ANZEBOT_RULES_FILE", str(rules))
    code, out, _ = run(["rules", "show", "--json"], capsys)
    assert code == 0
    shown = {r["key"]: r for r in json.loads(out)}
    every = {f"{name}.{key}" for name, section in Rules.model_fields.items() for key in section.annotation.model_fields}  # type: ignore[union-attr]
    assert set(shown) == every and len(every) >= 35
    assert shown["visits.report_working_days"] == {
        "key": "visits.report_working_days",
        "value": 7,
        "source": "file",
        "clause": "004 §6.2e",
        "what": "service report issued, working days after the service",
    }
    assert shown["complaints.extension_approver"]["value"] == "complainant"
    assert shown["visits.revisit_working_days"]["source"] == "default"
    assert all(r["clause"] for r in shown.values())
    code, out, _ = run(["rules", "show"], capsys)
    assert code == 0 and "visits.report_working_days = 7  [file]  004 §6.2e" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[visits]\nreport_workin_days = 3\n", "visits.report_workin_days: not a key of the rules"),
        ("[visits]\nreport_working_days = 'soon'\n", "visits.report_working_days: Input should be a valid integer"),
        ('[complaints]\nextension_approver = "boss"\n', "complaints.extension_approver: Input should be 'officer'"),
        ("[hazards.deadline_days]\n1 = 1\n", "hazards.deadline_days: Value error, lacks levels [2, 3, 4]"),
        ("[visits\n", "not TOML"),
    ],
)
def test_a_bad_rules_file_refuses_to_start_with_one_line_naming_the_key(
    db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    message: str,
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(text)
    monkeypatch.setenv("ANZEBOT_RULES_FILE", str(rules))
    for args in (["run"], ["rules", "show"]):
        code, out, err = run(args, capsys)
        assert code == 1 and not out
        lines = err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], err


def test_002_8_the_operator_keeps_the_expert_library(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["db", "upgrade"], capsys)
    run(["org", "add", "--kind", "agency", "--name", "某安全技术服务公司"], capsys)
    run(["person", "add", "--name", "钱专家", "--org", "某安全技术服务公司", "--speciality", "civil"], capsys)
    base = ["expert", "set", "--person", "钱专家", "--title", "高级工程师", "--years", "12"]
    code, _, err = run([*base, "--level", "senior", "--specialities", "civil,plumbing"], capsys)
    assert code == 1 and "specialities are some of civil, mechanical, electrical, fire" in err
    code, _, err = run(
        [*base, "--level", "senior", "--specialities", "civil", "--certificate", "注册安全工程师"], capsys
    )
    assert code == 1 and "certificate:" in err
    args = [*base, "--level", "senior", "--specialities", "civil,fire", "--rse"]
    code, out, _ = run([*args, "--certificate", "注册安全工程师:ZA-2019-0451:2028-06-30"], capsys)
    assert code == 0 and "in the expert library" in out
    code, out, _ = run(["expert", "list", "--json"], capsys)
    [row] = json.loads(out)
    assert row["name"] == "钱专家" and row["specialities"] == ["civil", "fire"] and row["registered_safety_engineer"]
    assert row["certificates"] == [{"name": "注册安全工程师", "number": "ZA-2019-0451", "valid_until": "2028-06-30"}]
    code, out, _ = run(["expert", "list"], capsys)
    assert "钱专家  高级工程师 (senior RSE), 12 y, civil,fire" in out


def test_plan_add_reads_its_content_from_a_file(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--no-run"], capsys)[0] == 0
    content = tmp_path / "plan.toml"
    content.write_text('overview = "框剪结构"\nmeasures = "季度排查"\nfrequency = "每季度"\ngoals = "清零"\n')
    base = ["plan", "add", "--project", "XC-P001", "--experts", "王建国,李机电,赵电工", "--leader", "王建国"]
    code, _, err = run([*base, "--content", str(content)], capsys)
    assert code == 1 and err.strip().endswith("guarantees: missing (000 §13 asks for it)")
    content.write_text(content.read_text() + 'guarantees = "专款专用"\n')
    code, out, _ = run([*base, "--content", str(content)], capsys)
    assert code == 0 and "the project manager agrees to it in chat" in out
    code, _, err = run([*base, "--content", str(tmp_path / "none.toml")], capsys)
    assert code == 1 and "plan content" in err


def test_004_annex2_a_policy_s_service_agreement_is_recorded(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--no-run"], capsys)[0] == 0
    base = [
        "agreement",
        "add",
        "--number",
        "FW-2026-001",
        "--signed",
        "2026-09-18",
        "--services",
        "inspection,training",
    ]
    code, _, err = run([*base, "--policy", "NOPE"], capsys)
    assert code == 1 and "no policy 'NOPE'" in err
    code, _, err = run([*base, "--policy", "AZX-2026-0001", "--first-service-by", "2035-01-01"], capsys)
    assert code == 1 and "inside the policy term" in err
    code, _, err = run([*base[:-1], "inspection,massage", "--policy", "AZX-2026-0001"], capsys)
    assert code == 1 and "services must be some of" in err
    code, out, _ = run([*base, "--policy", "AZX-2026-0001", "--fee", "12000", "--contact", "陈经理"], capsys)
    assert code == 0 and "agreement FW-2026-001 recorded" in out
    code, _, err = run([*base, "--policy", "AZX-2026-0001"], capsys)
    assert code == 1 and "exists" in err
    code, out, _ = run(["agreement", "list", "--json"], capsys)
    [row] = json.loads(out)
    assert row == {
        "number": "FW-2026-001",
        "policy": "AZX-2026-0001",
        "signed_on": "2026-09-18",
        "services": ["inspection", "training"],
        "fee": "12000.00",
        "first_service_by": None,
        "contact": "陈经理",
    }


def test_project_stage_from_the_cli(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--no-run"], capsys)[0] == 0
    code, out, _ = run(["project", "stage", "XC-P001", "装饰装修"], capsys)
    assert code == 0 and "XC-P001 is now at 装饰装修" in out
    code, _, err = run(["project", "stage", "XC-P001", "长" * 41], capsys)
    assert code == 1 and "a stage is 1 to 40 characters" in err
    con = sqlite3.connect(db)
    assert con.execute("SELECT stage FROM projects WHERE code = 'XC-P001'").fetchone() == ("装饰装修",)
    assert con.execute("SELECT count(*) FROM audit_events WHERE action = 'project.stage_changed'").fetchone() == (1,)


def test_odd_operator_input_is_one_clear_line(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--no-run"], capsys)[0] == 0
    code, out, err = run(["due", "--project", "NOPE"], capsys)
    assert code == 1 and "no project 'NOPE'" in err and "nothing open" not in out
    code, _, err = run(["training", "import", "/nonexistent.csv"], capsys)
    assert code == 1 and err.strip().splitlines() == [
        "anzebot: cannot read /nonexistent.csv: No such file or directory"
    ]
    code, _, err = run(
        [
            "plan",
            "add",
            "--project",
            "XC-P001",
            "--experts",
            "王建国,李机电",
            "--leader",
            "王建国",
            "--content",
            "/nonexistent.toml",
        ],
        capsys,
    )
    assert code == 1 and "plan content" in err


def test_report_service_report_of_a_visit(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--no-run"], capsys)[0] == 0
    code, _, err = run(["report", "service-report", "--visit", "999", "--out", str(tmp_path / "r.pdf")], capsys)
    assert code == 1 and "no visit 999" in err
    code, _, _ = run(
        ["visit", "add", "--project", "XC-P001", "--date", "2026-11-20", "--experts", "王建国,李机电,赵电工"], capsys
    )
    assert code == 0
    code, out, _ = run(["report", "service-report", "--visit", "1", "--out", str(tmp_path / "r.pdf")], capsys)
    assert code == 0 and "the service report of visit 1" in out
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "r.pdf").pages).replace(" ", "")
    assert "事故预防技术服务报告" in text and "草稿" in text and "本次服务未发现隐患" in text


def test_a_port_in_use_is_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    monkeypatch.setenv("ANZEBOT_HTTP_PORT", str(taken.getsockname()[1]))
    try:
        code, _, err = run(["run"], capsys)
    finally:
        taken.close()
    lines = [line for line in err.strip().splitlines() if line.startswith("anzebot:")]
    assert code == 1 and len(lines) == 1 and "set ANZEBOT_HTTP_PORT to a free port" in lines[0]
