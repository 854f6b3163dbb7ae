"""Reading rosters in every accepted form, and rejecting bad rows with every reason."""

from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from subsidy_batch.errors import RosterError
from subsidy_batch.roster.read import read_roster
from subsidy_batch.roster.schema import CONTROL, has_control_character, load_schema
from subsidy_batch.roster.validate import validate
from tests.helpers import make_id, person, raw_roster

ZH = {spec.name: spec.zh for spec in load_schema().columns.values()}


def _csv(rows: list[dict[str, str]], chinese: bool = False) -> str:
    cols = list(rows[0])
    header = [ZH[c] if chinese else c for c in cols]
    return "\r\n".join([",".join(header)] + [",".join(r[c] for c in cols) for r in rows]) + "\r\n"


def _check(rows: list[dict[str, str]]):
    return validate(raw_roster(rows), load_schema(), "2024-05", "jiaxiang")


def _problems(rows: list[dict[str, str]]) -> list[tuple[int, str, str]]:
    return [(r["row"], r["column"], r["problem"]) for r in _check(rows).rejected.iter_rows(named=True)]


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b"")])
def test_csv_in_utf8_utf8_bom_and_gb18030_with_chinese_headers_reads_the_same(
    tmp_path: Path, encoding: str, bom: bytes
) -> None:
    row = person("1950-01-01", income="低保", residence="农村", name="张秀英")
    path = tmp_path / "r.csv"
    path.write_bytes(bom + _csv([row], chinese=True).encode(encoding))
    raw = read_roster(path, load_schema())
    checked = validate(raw, load_schema(), "2024-05", "jiaxiang")
    assert checked.rejected.height == 0
    got = checked.accepted.row(0, named=True)
    assert (got["name"], got["income_status"], got["residence"]) == ("张秀英", "dibao", "rural")


def test_bytes_that_are_neither_utf8_nor_gb18030_fail_the_run_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"id_number,name\r\n\x80\xff\xfe\r\n")
    with pytest.raises(RosterError, match="neither UTF-8 nor GB18030"):
        read_roster(path, load_schema())


def test_missing_required_columns_fail_the_run_naming_them_in_both_languages(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("公民身份号码,姓名\r\n11010519491231002X,张三\r\n", encoding="utf-8")
    with pytest.raises(RosterError) as err:
        read_roster(path, load_schema())
    assert "hukou_code (户籍地区划代码)" in str(err.value) and "income_status (经济状况)" in str(err.value)


def test_headers_with_surrounding_spaces_are_recognised(tmp_path: Path) -> None:
    row = person("1950-01-01", name="李四")
    lines = _csv([row], chinese=True).split("\r\n")
    lines[0] = ",".join(f"  {h} " for h in lines[0].split(","))
    path = tmp_path / "r.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    raw = read_roster(path, load_schema())
    assert raw.ignored_columns == ()
    assert raw.frame.item(0, "name") == "李四"


def test_ignored_columns_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pl.DataFrame([person("1950-01-01") | {"备注": "x"}]).write_parquet(path)
    assert read_roster(path, load_schema()).ignored_columns == ("备注",)


def test_xlsx_with_an_id_typed_as_a_number_is_rejected_with_the_text_hint(tmp_path: Path) -> None:
    good = person("1950-01-01")
    path = tmp_path / "r.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    ws.write_row(0, 0, [ZH[c] for c in good])
    ws.write_row(1, 0, list(good.values()), wb.add_format({"num_format": "@"}))
    ws.write_row(2, 0, list(person("1944-05-10").values()))
    ws.write_number(2, 0, 370829194405101234)  # what Excel does to an ID typed into a number cell
    wb.close()
    checked = validate(read_roster(path, load_schema()), load_schema(), "2024-05", "jiaxiang")
    assert checked.accepted.height == 1
    assert checked.rejected.select("row", "problem").rows() == [(2, "id_stored_as_number")]
    assert "format the column as text" in checked.rejected.item(0, "message")


@pytest.mark.parametrize("shown", ["3.70829E+17", "370829194405101200", "370829194405101000.0"])
def test_ids_that_went_through_an_excel_number_cell_are_rejected_with_a_hint(shown: str) -> None:
    row = person("1944-05-10") | {"id_number": shown}
    assert ("id_number", "id_stored_as_number") in [(c, p) for _, c, p in _problems([row])]


def test_full_width_digits_spaces_and_a_lower_case_x_are_normalised_not_rejected() -> None:
    ident = make_id("1949-12-31", "110105", seq=2)  # ends in X
    assert ident.endswith("X")
    messy = (
        " " + ident[:6].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + ident[6:-1] + "x "
    )
    checked = _check([person("1949-12-31") | {"id_number": messy, "hukou_code": "３７０８２９"}])
    assert checked.rejected.height == 0
    assert checked.accepted.item(0, "id_number") == ident
    assert checked.accepted.item(0, "hukou_code") == "370829"


def test_a_wrong_check_character_is_rejected() -> None:
    # a fixed sequence number: one ID in 64 is exactly a float64 and reads as rounded by Excel instead
    # (id_stored_as_number), so the shared counter made this test depend on the tests run before it
    ident = make_id("1950-01-01", seq=11)
    wrong = ident[:17] + ("1" if ident[17] != "1" else "2")
    assert wrong == "370829195001010111" and int(wrong) % 64  # 63: not a float64 value
    assert _problems([person("1950-01-01") | {"id_number": wrong}]) == [
        (1, "id_number", "id_check_character")
    ]


def test_a_30_february_birth_date_in_the_id_is_rejected() -> None:
    first17 = "37082919440230001"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    ident = first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]
    assert _problems([person("1950-01-01") | {"id_number": ident}]) == [(1, "id_number", "id_birth_date")]


def test_every_problem_of_a_bad_row_is_reported_and_the_good_rows_go_on() -> None:
    bad = person("1950-01-01") | {
        "name": "",
        "hukou_code": "37082",
        "township": "",
        "residence": "乡下",
        "income_status": "低保户",
        "ability_grade": "5",
        "family_planning": "离异",
        "death_date": "2024-02-30",
    }
    good = person("1951-01-01")
    checked = _check([good, bad])
    assert checked.accepted.height == 1
    assert [(r, c, p) for r, c, p in _problems([good, bad])] == [
        (2, "name", "missing_value"),
        (2, "hukou_code", "invalid_hukou_code"),
        (2, "township", "missing_value"),
        (2, "residence", "invalid_value"),
        (2, "income_status", "invalid_value"),
        (2, "ability_grade", "invalid_value"),
        (2, "family_planning", "invalid_value"),
        (2, "death_date", "invalid_date"),
    ]
    messages = checked.rejected.get_column("message").to_list()
    assert (
        "经济状况 must be one of 一般 / 低保 / 低保边缘 / 特困 (none / dibao / marginal / tekun). (found: 低保户)"
        in messages
    )


def test_an_empty_required_id_is_rejected_as_missing() -> None:
    assert _problems([person("1950-01-01") | {"id_number": ""}]) == [(1, "id_number", "missing_value")]


def test_a_death_date_before_birth_is_rejected() -> None:
    assert _problems([person("1950-01-01", death="1949-12-31")]) == [(1, "death_date", "death_before_birth")]


@pytest.mark.parametrize("written", ["2024-05-01", "2024/5/1", "20240501", "45413", "2024-05-01 00:00:00"])
def test_death_dates_are_read_in_every_written_form(written: str) -> None:
    checked = _check([person("1950-01-01", death=written)])
    assert str(checked.accepted.item(0, "death_date")) == "2024-05-01"


def test_a_duplicated_id_rejects_every_copy() -> None:
    one = person("1950-01-01")
    other = person("1951-01-01")
    problems = _problems([one, other, dict(one), dict(one)])
    assert problems == [
        (1, "id_number", "duplicate_id"),
        (3, "id_number", "duplicate_id"),
        (4, "id_number", "duplicate_id"),
    ]


def test_rejection_messages_never_show_a_full_id_number() -> None:
    ident = make_id("1950-01-01")
    checked = _check(
        [person("1950-01-01") | {"id_number": ident[:17] + "0" if ident[17] != "0" else ident[:17] + "1"}]
    )
    message = checked.rejected.item(0, "message")
    assert ident[:17] not in message and "********" in message


@pytest.mark.parametrize(
    ("rows", "clean"),
    [
        (40, "text"),  # small: the distinct-value path
        (40_000, "text"),  # large: the dirty-cells path
        (40_000, "digits"),  # large and mostly digits: only cells not all digits are searched
    ],
)
def test_fast_normalisation_equals_normalising_every_cell(rows: int, clean: str) -> None:
    from subsidy_batch.roster.schema import normalise_expr, normalise_frame

    schema = load_schema()
    messy = [
        " 11010519491231002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "",
        "  ",
        "110105 1949 1231 002X",
        None,
        "\u3000低保 ",
        "農村",
        "城镇",
        "ＵＲＢＡＮ",
        "Rural",
        "２",
        " 3 ",
        "2024／5／1",
        "6228 4800 1234 5678",
        "+12345",
        "12345678901234567890123",
        "６２２８",
    ]

    def messy_row(i: int) -> bool:
        return i % 3 != 0 if clean == "text" else i % 3 == 0

    def clean_value(c: str, i: int) -> str:
        return f"{c}{i}" if clean == "text" else f"{i:018d}"

    data = {
        # text: two cells in three messy; digits: one in three, so that the column is mostly digits
        c: [messy[(i * 7 + j) % len(messy)] if messy_row(i) else clean_value(c, i) for i in range(rows)]
        for j, c in enumerate(schema.columns)
    }
    frame = pl.DataFrame(data, schema={c: pl.String for c in schema.columns})
    fast = normalise_frame(frame, schema)
    plain = frame.with_columns([normalise_expr(spec) for spec in schema.columns.values()])
    assert fast.equals(plain)


def test_duplicates_far_apart_and_next_to_each_other_reject_every_copy() -> None:
    from subsidy_batch.roster.validate import check_rows

    one, two = person("1950-01-01"), person("1951-01-01")
    rows = [
        one,
        person("1952-01-01"),
        person("1953-01-01") | {"income_status": "低保户"},
        dict(one),
        two,
        person("1954-01-01"),
        dict(two),
    ]
    checked = check_rows(raw_roster(rows), load_schema(), "2024-05", "jiaxiang", key="id_number")
    assert checked.rejected.select("row", "problem").rows() == [
        (1, "duplicate_id"),
        (3, "invalid_value"),
        (4, "duplicate_id"),
        (5, "duplicate_id"),
        (7, "duplicate_id"),
    ]
    assert checked.accepted.get_column("row").to_list() == [2, 6]


def test_pandera_over_every_row_reports_exactly_the_problems_of_the_one_pass_check() -> None:
    """The run lets pandera look only at the rows the one-pass check fails; over every row it finds the same."""
    import pandera.errors

    from subsidy_batch.period import Period
    from subsidy_batch.roster.read import ROW
    from subsidy_batch.roster.schema import normalise_frame, pandera_schema, with_checks
    from subsidy_batch.roster.validate import check_rows
    from subsidy_batch.synth import roster, with_broken_rows

    schema = load_schema()
    sample = with_broken_rows(roster("jiaxiang", 5_000, Period(2024, 5), seed=9))
    rows = sample.rename(schema.header_map(), strict=False).to_dicts()
    rows += [person("1944-02-29") | {"id_number": v} for v in ("", "3.70829E+17", "370829194402291234")]
    rows += [person("1950-01-01") | {"death_date": "1949-12-31", "ability_grade": "5", "residence": "x"}]
    raw = raw_roster(rows)
    checked = check_rows(raw, schema, "2024-05", "jiaxiang", key="id_number")
    everything = with_checks(normalise_frame(raw.frame, schema), schema)
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        pandera_schema(schema).validate(everything.drop(ROW), lazy=True)
    cases = pl.DataFrame(exc.value.failure_cases).select(
        (pl.col("index").cast(pl.Int64) + 1).alias("row"), "column", pl.col("check").alias("problem")
    )
    expected = sorted(cases.unique().rows())
    assert sorted(checked.rejected.select("row", "column", "problem").rows()) == expected
    assert len({r for r, _, _ in expected}) >= 14  # the broken sample rows, a duplicate pair and ours
    assert checked.accepted.height + len({r for r, _, _ in expected}) == raw.frame.height


def test_pandera_is_given_the_columns_that_fail_on_the_failing_rows_and_only_those() -> None:
    """failing_columns decides which columns pandera checks: a bad grade and a bad hukou code on two rows
    give exactly those two columns, in the schema's order; good rows give none."""
    from subsidy_batch.roster.read import ROW
    from subsidy_batch.roster.schema import failing_columns, normalise_frame, with_checks

    schema = load_schema()
    rows = [
        person("1940-01-01") | {"ability_grade": "9"},
        person("1941-01-01"),
        person("1942-01-01") | {"hukou_code": "x"},
    ]
    everything = with_checks(normalise_frame(raw_roster(rows).frame, schema), schema).drop(ROW)
    order = list(schema.columns)
    assert order.index("hukou_code") < order.index("ability_grade")
    assert failing_columns(everything, schema) == ["hukou_code", "ability_grade"]
    assert failing_columns(everything.slice(1, 1), schema) == []
    assert failing_columns(everything.clear(), schema) == []


@pytest.mark.parametrize("ident", ["37082919440510123", "37082919440510123Y", "37082919440510123456"])
def test_an_id_that_is_not_17_digits_and_a_check_character_is_rejected_as_id_format(ident: str) -> None:
    assert _problems([person("1944-05-10") | {"id_number": ident}]) == [(1, "id_number", "id_format")]


def test_the_optional_support_mode_and_disability_columns_read_the_rosters_words() -> None:
    row = person(
        "1950-01-01",
        income="特困",
        support_mode="集中供养",
        disability_grade="二级",
        disability_category="精神残疾",
    ) | {"long_term_care": "是"}
    got = _check([row]).accepted.row(0, named=True)
    assert (
        got["tekun_support_mode"],
        got["disability_grade"],
        got["disability_category"],
        got["long_term_care"],
    ) == (
        "centralised",
        2,
        "mental",
        "yes",
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("tekun_support_mode", "在家"),
        ("disability_grade", "五级"),
        ("disability_grade", "0"),
        ("disability_category", "失明"),
        ("long_term_care", "需要"),
    ],
)
def test_a_value_outside_a_new_optional_column_is_rejected_as_invalid_value(column: str, value: str) -> None:
    assert _problems([person("1950-01-01") | {column: value}]) == [(1, column, "invalid_value")]


def test_rosters_without_the_new_optional_columns_are_still_accepted() -> None:
    new = ("tekun_support_mode", "disability_grade", "disability_category", "long_term_care")
    row = {k: v for k, v in person("1950-01-01").items() if k not in new}
    assert _check([row]).rejected.height == 0


def test_checks_worked_out_per_distinct_value_agree_with_checking_every_cell() -> None:
    """township, 开户银行 and 经济状况 have few distinct values: their per-value checks (one_of, control
    characters, length, pattern) are worked out once per value; the verdict of every row must be the same
    as checking every cell."""
    from subsidy_batch.roster.schema import OK, normalise_with_values, with_checks

    schema = load_schema()
    rows = [person("1940-03-01", income="dibao") for _ in range(300)]  # few distinct values in many rows
    rows[3]["township"] = "纸坊\x07镇"  # a control character
    rows[5]["bank_name"] = "银" * 200  # longer than the schema allows
    rows[8]["income_status"] = "低保户"  # not one of the allowed values
    rows[9]["township"] = None  # required: missing
    raw = raw_roster(rows)
    normalised, values = normalise_with_values(raw.frame, schema)
    assert {"township", "bank_name", "income_status"} <= set(values)  # the shortcut is taken for them
    fast = with_checks(normalised, schema, values).get_column(OK).to_list()
    slow = with_checks(normalised, schema, None).get_column(OK).to_list()
    assert fast == slow
    assert [i for i, ok in enumerate(fast) if not ok] == [3, 5, 8, 9]
    # and the rejected report names each problem
    rejected = validate(raw, schema, "2024-05", "jiaxiang").rejected
    assert rejected.select("row", "column", "problem").rows() == [
        (4, "township", "control_character"),
        (6, "bank_name", "too_long"),
        (9, "income_status", "invalid_value"),
        (10, "township", "missing_value"),
    ]


@pytest.mark.parametrize("bad", [[], [0], [4], [9], [0, 1, 2], [3, 4, 8], list(range(10))])
def test_the_accepted_rows_are_the_rows_between_the_bad_ones_as_a_filter_gives(bad: list[int]) -> None:
    from subsidy_batch.roster.validate import without_rows

    frame = pl.DataFrame({"i": list(range(10)), "s": [f"r{i}" for i in range(10)]})
    ok = pl.Series([i not in bad for i in range(10)])
    kept = without_rows(frame, pl.Series(bad, dtype=pl.Int64), ok)
    assert kept.equals(frame.filter(ok))
    assert kept.get_column("i").to_list() == [i for i in range(10) if i not in bad]


def test_many_bad_rows_are_left_out_by_the_filter_with_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidy_batch.roster import validate as v

    monkeypatch.setattr(v, "FEW", 2)  # 3 bad rows are "many" here
    frame = pl.DataFrame({"i": list(range(10))})
    ok = pl.Series([i not in (1, 5, 6) for i in range(10)])
    assert v.without_rows(frame, pl.Series([1, 5, 6], dtype=pl.Int64), ok).get_column("i").to_list() == [
        0,
        2,
        3,
        4,
        7,
        8,
        9,
    ]


def test_a_readers_message_names_the_other_list_only_where_it_names_the_file() -> None:
    from subsidy_batch.roster.read import said_of

    assert said_of("roster file x.csv does not exist", "death list") == "death list file x.csv does not exist"
    assert said_of("cannot read roster roster-May.xlsx: bad zip", "death list") == (
        "cannot read death list roster-May.xlsx: bad zip"  # the clerk's file name is kept as it is
    )
    assert said_of("roster 名单.csv lacks required column(s) name (姓名)", "population list") == (
        "population list 名单.csv lacks required column(s) name (姓名)"
    )
    assert said_of("something else about a roster", "death list") == "something else about a roster"


def test_a_parquet_roster_of_several_row_groups_has_every_column_in_the_same_chunks(tmp_path: Path) -> None:
    # the optional columns the file lacks are added as empty text: cut like the columns read, or polars
    # re-cuts (copies) every column for each check of the validation (0.8 s and 1.8 GB at 10M rows)
    rows = [person("1950-01-01") | {"name": f"张{i}"} for i in range(2_500)]
    for i, row in enumerate(rows):
        row["id_number"] = make_id("1950-01-01", area=f"3708{i // 1000:02d}", seq=i % 1000)
    path = tmp_path / "r.parquet"
    absent = [
        "eligible_from",
        "tekun_support_mode",
        "disability_grade",
        "disability_category",
        "long_term_care",
    ]
    frame = pl.DataFrame(rows).drop(absent, strict=False)
    frame.write_parquet(path, row_group_size=1_000)  # 3 row groups: chunks of 1000, 1000, 500
    raw = read_roster(path, load_schema())
    lengths = {c: raw.frame.get_column(c).chunk_lengths() for c in raw.frame.columns}
    assert "eligible_from" in lengths and "eligible_from" not in frame.columns  # one of those added
    assert len(set(map(tuple, lengths.values()))) == 1, lengths
    assert sum(lengths["eligible_from"]) == 2_500
    accepted = validate(raw, load_schema(), "2024-05", "jiaxiang").accepted
    assert accepted.height == 2_500
    assert len({tuple(accepted.get_column(c).chunk_lengths()) for c in accepted.columns}) == 1


def test_a_check_that_is_handed_the_roster_gives_the_same_rows_and_lets_go_of_the_frame() -> None:
    rows = [
        person("1950-01-01"),
        person("1951-02-03") | {"id_number": "37082919510203001"},
        person("1940-12-31"),
    ]
    kept, handed = raw_roster(rows), raw_roster(rows)
    as_read = validate(kept, load_schema(), "2024-05", "jiaxiang")
    given = validate(handed, load_schema(), "2024-05", "jiaxiang", hand_over=True)
    assert given.accepted.equals(as_read.accepted) and given.rejected.equals(as_read.rejected)
    assert (given.accepted.height, given.rejected_rows) == (2, 1)  # the 17-character ID is rejected
    assert kept.frame.height == 3 and kept.rows == 3
    assert handed.frame.height == 0 and handed.rows == 3  # the count read stays
    assert handed.frame.columns == kept.frame.columns


def test_aligned_cuts_every_column_like_the_first_and_changes_no_value() -> None:
    from subsidy_batch.frames import aligned

    left = pl.concat([pl.Series("a", [1, 2]), pl.Series("a", [3, 4, 5])], rechunk=False)  # chunks 2 + 3
    right = pl.Series("b", ["x", None, "z", "w", "v"])  # one chunk
    odd = pl.concat([pl.Series("c", [True]), pl.Series("c", [False, True, None, False])], rechunk=False)
    frame = pl.DataFrame([left, right, odd])
    out = aligned(frame)
    assert [out.get_column(c).chunk_lengths() for c in out.columns] == [[2, 3], [2, 3], [2, 3]]
    assert out.equals(frame)
    assert aligned(out) is out  # nothing to do: the same frame


def test_pandera_is_loaded_without_hypothesis_and_still_reports_every_problem() -> None:
    # a fresh interpreter, as a clerk's run: pandera's built-in checks would import hypothesis (installed
    # here for the property tests) and build its strategies; the run loads pandera without it
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from subsidy_batch.roster import schema\n"
        "schema._import_pandera()\n"
        "print('hypothesis' in sys.modules, 'pandera.polars' in sys.modules)\n"
        "import importlib.util; print(importlib.util.find_spec('hypothesis') is not None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "True"]  # not imported, pandera loaded, still installed
    # and in this process (hypothesis imported by the tests) the checks report as ever
    assert _problems([person("1950-01-01") | {"id_number": "37082919500101001"}]) == [
        (1, "id_number", "id_format")
    ]


def test_structlog_is_loaded_without_rich_and_still_writes_the_audit_log() -> None:
    # a fresh interpreter, as a --quiet run: structlog's console renderer would import rich's traceback
    # and pretty-printer (0.1 s); the audit log is JSON lines and needs neither; rich imports as ever after
    import subprocess
    import sys

    code = (
        "import sys, io, json\n"
        "from subsidy_batch.roster import schema\n"
        "schema._import_pandera()\n"
        "print('structlog' in sys.modules, 'rich' in sys.modules, 'rich.traceback' in sys.modules)\n"
        "import structlog\n"
        "out = io.StringIO()\n"
        "structlog.configure(processors=[structlog.processors.JSONRenderer()],"
        " logger_factory=structlog.PrintLoggerFactory(file=out))\n"
        "structlog.get_logger().info('run_started', people=3)\n"
        "print(json.loads(out.getvalue())['people'])\n"
        "import rich.traceback; print('rich.traceback' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False", "False", "3", "True"]


EDGES = "\x00\x1f\x20\x7e\x7f\x80\x9f\xa0\u2027\u2028\u2029\u202a\ufffd王"  # either side of each range


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), st.text(max_size=12), st.text(alphabet=EDGES, max_size=4))))
def test_the_control_character_search_is_the_regex_for_any_text(texts: list[str | None]) -> None:
    frame = pl.DataFrame({"v": texts}, schema={"v": pl.String})
    ours = frame.select(has_control_character(pl.col("v"))).to_series().to_list()
    regex = frame.select(pl.col("v").str.contains(CONTROL)).to_series().to_list()
    assert ours == regex


def test_the_control_character_search_finds_each_edge_of_its_ranges() -> None:
    edges = list(EDGES)
    found = pl.DataFrame({"v": edges}).select(has_control_character(pl.col("v"))).to_series().to_list()
    # \x00 \x1f controls, space and ~ not, DEL \x7f to \x9f controls, NBSP not, U+2028/2029 only
    assert found == [
        True,
        True,
        False,
        False,
        True,
        True,
        True,
        False,
        False,
        True,
        True,
        False,
        False,
        False,
    ]
