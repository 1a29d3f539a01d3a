#!/usr/bin/python3
"""The layering rules of DESIGN.md section 6, checked on the source tree.

  spool/       includes no Asio and nothing of daemon/ or cli/
  spool/ (the queue library) does not include spool/mime/
  cli/         includes nothing of daemon/
  SQL text, sqlite3_ calls and libpq calls appear only in the store
  (spool/store*)

Prints one line per broken rule (file:line: rule) and exits 1 if any.
    check_layers.py SOURCE_DIR
    check_layers.py --self-test     (each rule catches a planted breach)
"""
import pathlib
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
# SQL as it is written in this code base: statements in string literals.
SQL_TEXT = re.compile(
    r'"[^"\n]*\b(SELECT\s+\S+.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|'
    r'DELETE\s+FROM|CREATE\s+(TABLE|INDEX|UNIQUE\s+INDEX)|PRAGMA\s+\w+|BEGIN\s+IMMEDIATE)\b')
DB_CALL = re.compile(r'\b(sqlite3_\w+|PQ[a-z]\w*)\s*\(')
DB_HEADER = re.compile(r'^(sqlite3\.h|libpq-fe\.h|pqxx/.*)$')


def sources(root, folder):
    base = root / folder
    return sorted(p for p in base.rglob("*") if p.suffix in (".cpp", ".hpp"))


def include_rules(rel):
    """(pattern, rule) pairs that rel's includes must not match."""
    rules = []
    if rel.startswith("spool/"):
        rules += [(re.compile(r'^(boost/asio|asio)\b'), "spool/ must not use Asio"),
                  (re.compile(r'^daemon/'), "spool/ must not include daemon/"),
                  (re.compile(r'^cli/'), "spool/ must not include cli/")]
        if not rel.startswith("spool/mime/"):
            rules.append((re.compile(r'^spool/mime/'),
                          "the queue library (spool/) must not include spool/mime/"))
    if rel.startswith("cli/"):
        rules.append((re.compile(r'^daemon/'), "cli/ must not include daemon/"))
    return rules


def is_store(rel):
    return rel.startswith("spool/store")


def check(root):
    problems = []
    for folder in ("spool", "daemon", "cli"):
        for path in sources(root, folder):
            rel = path.relative_to(root).as_posix()
            rules = include_rules(rel)
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                where = f"{rel}:{number}"
                m = INCLUDE.match(line)
                if m:
                    for pattern, rule in rules:
                        if pattern.search(m.group(1)):
                            problems.append(f"{where}: {rule} ({m.group(1)})")
                    if DB_HEADER.match(m.group(1)) and not is_store(rel):
                        problems.append(f"{where}: only the store includes {m.group(1)}")
                    continue
                if is_store(rel) or line.lstrip().startswith("//"):
                    continue
                if SQL_TEXT.search(line):
                    problems.append(f"{where}: SQL text outside the store")
                if DB_CALL.search(line):
                    problems.append(f"{where}: database call outside the store")
    return problems


PLANTED = {
    "spool/a.cpp": '#include <boost/asio.hpp>\n#include "daemon/intake.hpp"\n#include "cli/x.hpp"\n'
                   '#include "spool/mime/mime_parser.hpp"\n',
    "spool/mime/ok.cpp": '#include "spool/result.hpp"\n',
    "cli/b.cpp": '#include "daemon/net/asio.hpp"\n',
    "daemon/c.cpp": 'auto q = "SELECT id FROM messages";\nsqlite3_exec(db);\nPQexec(conn, q);\n'
                    '#include <sqlite3.h>\n',
    "spool/store_x.cpp": 'auto q = "DELETE FROM messages"; sqlite3_exec(db);\n',
}


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for rel, text in PLANTED.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        found = check(root)
    expected = 4 + 1 + 4  # spool/a.cpp, cli/b.cpp, daemon/c.cpp; none in the store or mime
    if len(found) != expected or any("store_x" in p or "mime/ok" in p for p in found):
        print("self-test: expected", expected, "problems, got:", *found, sep="\n  ")
        return 1
    print("self-test: each rule caught its planted breach")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = check(root)
    for p in problems:
        print(p)
    if not sources(root, "spool"):
        print(f"{root}: no spool/ sources found")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
