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


# --- the layering of the middle (restructuring issue) ------------------------------------------------------

PACKAGES = ("bot", "handlers", "storage", "scheduler")
# bot.documents is wording too (what a ledger or a report says and how it is laid out); storage decides who gets it.
STORAGE_MAY_USE = ("bot.domain", "bot.messages", "bot.i18n", "bot.ports", "bot.notices", "bot.documents")
BOT_STORAGE_USERS = {"bot.app", "bot.cli", "bot.router", "bot.outbox"}
WORDING = {"T", "N_", "Card", "Text", "Choices", "Toast", "Photo", "Document"}


def modules() -> dict[str, Path]:
    """Every module of the four packages (migrations are Alembic's wiring, not the application's)."""
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def top_level_imports(path: Path) -> set[str]:
    """The project modules imported at module level (what `from x import y` names, when y is a module too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m in MODULES}


def nested_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    return [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top
    ]


def test_handlers_import_no_storage_channel_or_database_library() -> None:
    for name, path in MODULES.items():
        if name.startswith("handlers."):
            assert not offending(imports(path), HANDLER_FORBIDDEN | {"scheduler"}), name


def test_storage_uses_of_bot_only_rules_messages_wording_and_ports() -> None:
    for name, path in MODULES.items():
        if name.startswith("storage"):
            used = {m for m in imports(path) if m == "bot" or m.startswith("bot.")}
            assert all(m.startswith(STORAGE_MAY_USE) for m in used), (name, used)


def test_only_the_edges_of_bot_touch_storage() -> None:
    users = {name for name, path in MODULES.items() if name.startswith("bot") and offending(imports(path), {"storage"})}
    assert users <= BOT_STORAGE_USERS, users - BOT_STORAGE_USERS


def test_storage_words_no_message_and_builds_no_reply() -> None:
    """Who gets what is decided in storage; what it says is in bot/notices."""
    for name, path in MODULES.items():
        if not name.startswith("storage"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in WORDING, (name, node.lineno, node.func.id)


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of the graph (module → the modules it imports), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep, [*path, dep])):
                return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_no_import_circles() -> None:
    graph = {name: top_level_imports(path) - {name} for name, path in MODULES.items()}
    # A package may import its own modules (to expose them): that is no circle through the package.
    graph = {a: {b for b in deps if not b.startswith(a + ".")} for a, deps in graph.items()}
    cycle = find_cycle(graph)
    assert not cycle, " → ".join(cycle)


def test_no_import_hides_inside_a_function() -> None:
    nested = {name: lines for name, path in MODULES.items() if (lines := nested_imports(path))}
    assert not nested, nested


def test_the_checks_would_catch_a_circle_and_a_hidden_import(tmp_path: Path) -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
    sample = tmp_path / "m.py"
    sample.write_text("import os\n\n\ndef f():\n    from storage import visits\n", encoding="utf-8")
    assert nested_imports(sample) == [5]
