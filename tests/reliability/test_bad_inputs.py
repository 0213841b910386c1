"""Bad input: every file of the committed corpus (bad_inputs/, manifest EXPECTED.yaml) is
ingested into a warehouse that already holds a good file. Each must load, quarantine its bad
rows with a reason, or be rejected with an error naming it; rows are accounted for; and
nothing loaded before changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.reliability.conftest import (
    BASE_FILE,
    assert_raw_invariants,
    assert_staging_accounts,
    ingest,
    loaded_state,
    rows,
    stage,
    warehouse,
    write_base,
)

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
# The rows of the file $f: its own, or its members' ('export.zip!orders.csv').
OF_FILE = "(source_file = $f OR starts_with(source_file, $f || '!'))"
MANIFEST = yaml.safe_load((CORPUS / "EXPECTED.yaml").read_text(encoding="utf-8"))["files"]


def test_the_manifest_describes_every_file_of_the_corpus():
    files = {path.name for path in CORPUS.iterdir() if path.name != "EXPECTED.yaml"}
    assert files == set(MANIFEST)
    assert len(files) >= 20
    assert all((CORPUS / name).stat().st_size <= 64 * 1024 for name in files), "keep them small"
    for name, expected in MANIFEST.items():
        assert expected["outcome"] in {"loaded", "rejected", "ignored"}, name
        assert expected.get("covers"), f"{name}: say what the file covers"


@pytest.fixture
def loaded_warehouse(tmp_path):
    """A warehouse that already holds a good file, cleaned into staging."""
    landing = tmp_path / "landing"
    landing.mkdir()
    write_base(landing)
    resource = warehouse(tmp_path / "warehouse.duckdb")
    with resource.writer() as connection:
        assert [f.status for f in ingest(connection, landing).files] == ["loaded"]
        stage(connection)
    return resource, landing


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_input(name, loaded_warehouse):
    expected = MANIFEST[name]
    resource, landing = loaded_warehouse
    with resource.writer() as connection:
        before = loaded_state(connection, [BASE_FILE])
        staged_before = rows(connection, "SELECT count(*) FROM staging.transactions")
    shutil.copyfile(CORPUS / name, landing / name)

    with resource.writer() as connection:
        report = ingest(connection, landing)
        outcomes = {f.file_path: f for f in report.files}
        assert outcomes[BASE_FILE].status == "unchanged"
        if expected["outcome"] == "ignored":
            assert list(outcomes) == [BASE_FILE]
            assert loaded_state(connection, [BASE_FILE]) == before
            assert rows(connection, "SELECT count(*) FROM raw.file_ledger") == [(1,)]
            assert_raw_invariants(connection)
            return
        outcome = outcomes[name]
        assert outcome.status == expected["outcome"], outcome.error

        # Nothing that was loaded before changed, whatever happened to the new file.
        assert loaded_state(connection, [BASE_FILE]) == before
        assert_raw_invariants(connection)
        ledger = rows(
            connection,
            "SELECT status, rows_read, rows_loaded, rows_quarantined, error "
            "FROM raw.file_ledger WHERE file_path = $f",
            {"f": name},
        )
        raw_rows = rows(
            connection, f"SELECT count(*) FROM raw.transactions WHERE {OF_FILE}", {"f": name}
        )[0][0]
        quarantine = rows(
            connection,
            f"SELECT column_name, reason FROM raw.quarantine WHERE {OF_FILE}",
            {"f": name},
        )

        if expected["outcome"] == "rejected":
            assert outcome.error.startswith(name), outcome.error
            for fragment in expected["error"]:
                assert fragment in outcome.error, f"{fragment!r} not in {outcome.error!r}"
            assert ledger == [("rejected", 0, 0, 0, outcome.error)]
            assert raw_rows == 0 and quarantine == []
        else:
            assert ledger == [
                ("loaded", outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined, None)
            ]
            assert outcome.rows_loaded == raw_rows == expected["rows"]
            expected_quarantine = expected.get("quarantined", [])
            assert len(quarantine) == sum(q["count"] for q in expected_quarantine), quarantine
            for q in expected_quarantine:
                matching = [
                    row for row in quarantine if row[0] == q["column"] and q["reason"] in row[1]
                ]
                assert len(matching) == q["count"], (q, quarantine)
            # Rows read from the file = raw.transactions + raw.quarantine.
            assert outcome.rows_read == raw_rows + len(quarantine)
            for check in expected.get("checks", []):
                got = rows(connection, check["sql"], {"file": name})
                assert got == [tuple(r) for r in check["rows"]], check["sql"]

        # raw = staging.transactions + staging.returns + staging.excluded after cleaning.
        stage(connection)
        assert_staging_accounts(connection)
        destinations = dict(
            rows(
                connection,
                f"SELECT 'returns', count(*) FROM staging.returns WHERE {OF_FILE} "
                f"UNION ALL SELECT rule, count(*) FROM staging.excluded WHERE {OF_FILE} "
                "GROUP BY rule",
                {"f": name},
            )
        )
        destinations = {k: v for k, v in destinations.items() if v}
        assert destinations == expected.get("staging", {})
        if expected["outcome"] == "rejected":
            assert rows(connection, "SELECT count(*) FROM staging.transactions") == staged_before

    # Ingesting again changes nothing: a loaded file is unchanged, a rejected one is
    # rejected again with the same error (it is retried until it is fixed or removed).
    with resource.writer() as connection:
        state = loaded_state(connection, [BASE_FILE, name])
        again = {f.file_path: f for f in ingest(connection, landing).files}[name]
        assert loaded_state(connection, [BASE_FILE, name])["transactions"] == state["transactions"]
        if expected["outcome"] == "loaded":
            assert again.status == "unchanged"
            assert loaded_state(connection, [BASE_FILE, name]) == state
        else:
            assert (again.status, again.error) == ("rejected", outcome.error)
        assert_raw_invariants(connection)


def _fail_on(monkeypatch, name: str, fail) -> None:
    """Make loading ``name`` fail (``fail(connection)`` raises) inside its transaction,
    after its rows went in."""
    import pipeline.ingest.loading as ingestion

    original = ingestion._load_part

    def load_part(connection, part, display_name, *rest):
        result = original(connection, part, display_name, *rest)
        if display_name == name:
            fail(connection)
        return result

    monkeypatch.setattr(ingestion, "_load_part", load_part)


def test_a_duckdb_error_caused_by_a_file_rejects_it_and_the_others_load(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_base(landing)
    for name in ("broken.csv", "later.csv"):
        shutil.copyfile(CORPUS / "tab_delimited.tsv", landing / name.replace(".csv", ".tsv"))
    _fail_on(monkeypatch, "broken.tsv", lambda connection: connection.execute("SELECT 'x'::INT"))
    with warehouse(tmp_path / "warehouse.duckdb").writer() as connection:
        report = {f.file_path: f for f in ingest(connection, landing).files}
        statuses = [report[n].status for n in (BASE_FILE, "broken.tsv", "later.tsv")]
        assert statuses == ["loaded", "rejected", "loaded"]
        assert report["broken.tsv"].error.startswith(
            "broken.tsv: cannot be loaded: Conversion Error: Could not convert string 'x'"
        )
        assert rows(
            connection, "SELECT count(*) FROM raw.transactions WHERE source_file = 'broken.tsv'"
        ) == [(0,)]
        assert_raw_invariants(connection)


def test_an_io_error_stops_the_ingest_and_names_the_file(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_base(landing)
    shutil.copyfile(CORPUS / "tab_delimited.tsv", landing / "broken.tsv")

    def disk_full(connection):
        raise duckdb.IOException("IO Error: No space left on device")

    _fail_on(monkeypatch, "broken.tsv", disk_full)
    resource = warehouse(tmp_path / "warehouse.duckdb")
    with resource.writer() as connection:
        with pytest.raises(duckdb.IOException) as raised:
            ingest(connection, landing)
        assert any("while loading broken.tsv" in note for note in raised.value.__notes__)
    with resource.writer() as connection:
        assert rows(connection, "SELECT DISTINCT source_file FROM raw.transactions") == [
            (BASE_FILE,)
        ]
        assert_raw_invariants(connection)


def test_links_never_read_outside_landing(tmp_path):
    """A link to a file outside landing is rejected without opening it, and the error
    quotes neither the target's path nor its content; a link to a folder outside is not
    followed; a link to a file inside landing loads as that file."""
    landing = tmp_path / "landing"
    landing.mkdir()
    write_base(landing)
    resource = warehouse(tmp_path / "warehouse.duckdb")
    with resource.writer() as connection:
        ingest(connection, landing)
    outside = tmp_path / "secret"
    outside.mkdir()
    secret = outside / "passwd.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (landing / "users.csv").symlink_to(secret)
    (landing / "shared").symlink_to(outside, target_is_directory=True)
    (landing / "again.csv").symlink_to(landing / BASE_FILE)
    with resource.writer() as connection:
        report = {f.file_path: f for f in ingest(connection, landing).files}
        assert sorted(report) == ["again.csv", BASE_FILE, "users.csv"]
        assert report["users.csv"].status == "rejected"
        error = report["users.csv"].error
        assert error.startswith("users.csv: is a link to a file outside the landing folder")
        assert "root" not in error and "secret" not in error and "passwd" not in error
        ledger = rows(connection, "SELECT status, error FROM raw.file_ledger ORDER BY file_path")
        assert ("rejected", error) in ledger
        assert not [e for _, e in ledger if e and "root:x" in e]
        # Same content as the base file under another name: already loaded, not twice.
        assert report["again.csv"].status == "unchanged"
        assert_raw_invariants(connection)
