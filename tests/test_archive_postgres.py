"""What only the PostgreSQL archive has: connection errors that say what is wrong (exit 2) with
the password masked everywhere, the missing extra named, versioned migrations, and the
least-privilege role that appends and reads but can neither rewrite nor prune the chain."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from dockbench.benchmark.archive import ArchiveError, open_archive
from dockbench.benchmark.archive.chain import verify
from dockbench.benchmark.archive.postgres import SCHEMA_VERSION, WRITER_GRANTS, mask
from tests.cli_run import dockbench
from tests.support import archive as material

PASSWORD = "s3cret-Pa55"


@pytest.fixture
def writer_role(postgres, postgres_database):
    """A role granted WRITER_GRANTS on an archive the owner created; (its URL, the owner's URL)."""
    owner_url = postgres_database
    open_archive(owner_url).close()
    database = owner_url.split("/")[3].split("?")[0]
    role = f"w_{database}"
    postgres.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    postgres.sql(f"GRANT CONNECT ON DATABASE {database} TO {role}")
    postgres.sql(WRITER_GRANTS.format(schema="public", role=role), database=database)
    yield postgres.url(database, role, PASSWORD), owner_url
    postgres.sql(f"DROP OWNED BY {role}", database=database)
    postgres.sql(f"DROP ROLE {role}")


def store_one(location, name="web1"):
    report, facts = material.host_scan(name)
    with open_archive(location) as archive:
        return archive.put_scan("host", name, report, facts, options={})


def test_a_refused_password_is_a_clear_error_with_the_password_masked(writer_role):
    url, _ = writer_role
    wrong = url.replace(PASSWORD, "not-the-Pa55word")
    done = dockbench("history", "--archive", wrong)
    assert done.returncode == 2
    assert "cannot connect" in done.stderr and "password authentication failed" in done.stderr
    assert "not-the-Pa55word" not in done.stdout + done.stderr and ":***@" in done.stderr


def test_a_wrong_url_is_a_clear_error(postgres):
    done = dockbench("archive", "verify", "--archive", postgres.url("no_such_database"))
    assert done.returncode == 2 and "cannot connect" in done.stderr and "no_such_database" in done.stderr
    done = dockbench("history", "--archive", "mysql://somewhere/db")
    assert done.returncode == 2 and "not an archive location" in done.stderr


def test_the_password_never_shows_in_output(writer_role):
    url, _ = writer_role
    store_one(url)
    for args in (("archive", "verify"), ("history",), ("archive", "export", "-o", "-")):
        done = dockbench(*args, "--archive", url)
        assert done.returncode == 0, done.stderr
        assert PASSWORD not in done.stdout + done.stderr
    assert "archive postgresql://w_" in dockbench("archive", "verify", "--archive", url).stdout
    assert mask(f"postgresql://u:{PASSWORD}@db.example/a?password={PASSWORD}&sslmode=require") == \
        "postgresql://u:***@db.example/a?password=***&sslmode=require"


def test_without_the_extra_the_message_says_what_to_install(postgres_database):
    code = "import sys; sys.modules['psycopg'] = None; sys.modules['procrastinate'] = None; from dockbench.benchmark.cli import main; main()"
    for args in (["history", "--archive", postgres_database], ["sweep", "status", "abc", "--archive", postgres_database]):
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "pip install 'dockbench[postgres]'" in done.stderr


def test_migrations_are_versioned_and_a_newer_schema_is_refused(postgres, postgres_database):
    store_one(postgres_database)
    database = postgres_database.split("/")[3].split("?")[0]
    assert postgres.sql("SELECT version FROM schema_migrations ORDER BY 1", database=database) == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    postgres.sql("INSERT INTO schema_migrations (version) VALUES (99)", database=database)
    with pytest.raises(ArchiveError, match="schema 99"):
        open_archive(postgres_database)


def test_an_archive_of_an_older_schema_is_migrated_when_opened(postgres, postgres_database):
    report, facts = material.host_scan("web1")
    for result in [r for r in report["results"] if r["status"] == "FAIL"][:2]:
        result["waived"] = True
    with open_archive(postgres_database) as archive:
        first = archive.put_scan("host", "web1", report, facts)
    database = postgres_database.split("/")[3].split("?")[0]
    postgres.sql("DROP TABLE sweep_workers; ALTER TABLE entries DROP COLUMN n_waived; DELETE FROM schema_migrations WHERE version > 1",
                 database=database)   # as schema 1 left it
    with open_archive(postgres_database) as archive:   # verify compares the filled-in waived count with the report's
        assert verify(archive).ok and archive.get(first.scan_id).hash == first.hash
        assert archive.scans(statuses=False)[0].waived == 2
    assert postgres.sql("SELECT version FROM schema_migrations ORDER BY 1", database=database) == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert postgres.sql("SELECT to_regclass('sweep_workers') IS NOT NULL", database=database) == [(True,)]


def test_the_writer_role_appends_and_reads_but_cannot_rewrite_or_prune(writer_role):
    url, owner = writer_role
    first = store_one(url, "web1")
    store_one(url, "web2")
    with open_archive(url) as archive:
        assert verify(archive).ok and [i.host for i in archive.scans()] == ["web1", "web2"]
    tamperer = material.connect(url)
    for statement in ("UPDATE entries SET score = 100", "DELETE FROM entries", "UPDATE heads SET hash = 'x'", "DELETE FROM heads",
                      "UPDATE check_meta SET data = '{}'", "TRUNCATE entries"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tamperer.execute(statement)
    tamperer.close()
    done = dockbench("archive", "prune", "--keep-days", "0", "--archive", url)
    assert done.returncode == 2 and "permission denied" in done.stderr and PASSWORD not in done.stderr
    with open_archive(owner) as archive:   # the owner still sees every entry, intact
        assert verify(archive).ok and archive.get(first.scan_id).hash == first.hash
