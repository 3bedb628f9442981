"""The layering the architecture promises, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IO_MODULES = {
    "sqlalchemy",
    "aiohttp",
    "telegram",
    "wechatpy",
    "asyncio",
    "socket",
    "requests",
    "httpx",
    "aiosqlite",
    "asyncpg",
    "storage",
    "scheduler",
    "handlers",
    "subprocess",
    "urllib",
    "http",
    "os",
    "shutil",
    "io",
    "pathlib",
    "logging",
    "sqlite3",
    "bot.channels",
    "bot.app",
    "bot.router",
    "bot.outbox",
    "bot.config",
}
HANDLER_FORBIDDEN = {
    "telegram",
    "wechatpy",
    "aiohttp",
    "sqlalchemy",
    "storage",
    "bot.channels",
    "bot.app",
    "bot.router",
    "bot.outbox",
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def offending(found: set[str], forbidden: set[str]) -> set[str]:
    return {m for m in found for f in forbidden if m == f or m.startswith(f + ".")}


def test_domain_has_no_io() -> None:
    files = sorted((ROOT / "bot" / "domain").glob("*.py"))
    assert len(files) >= 8
    for path in files:
        assert not offending(imports(path), IO_MODULES), path.name


def test_domain_reads_files_only_through_package_resources() -> None:
    for path in (ROOT / "bot" / "domain").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "open(" not in source, path.name


def test_handlers_stay_channel_neutral() -> None:
    files = sorted((ROOT / "handlers").glob("*.py"))
    assert len(files) >= 8
    for path in files:
        assert not offending(imports(path), HANDLER_FORBIDDEN), path.name


def test_the_forbidden_list_would_catch_a_violation() -> None:
    assert offending({"sqlalchemy.orm", "bot.messages"}, HANDLER_FORBIDDEN) == {"sqlalchemy.orm"}
    assert offending({"storage"}, IO_MODULES) == {"storage"}
