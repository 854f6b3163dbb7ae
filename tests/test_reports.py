"""What clerks, citizens and directors read (issue 14): report.xlsx, the 公示 lists and report.html,
made from a stored run; totals equal the manifest's, and no 公示 file leaks an ID, account or name."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import fastexcel
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subsidy_batch.errors import ConfigError, ReconciliationError
from subsidy_batch.outputs.gongshi import COLUMNS, Mask, load_gongshi, write_gongshi
from subsidy_batch.outputs.html_report import CHARTS, stored_trend, write_report_html
from subsidy_batch.outputs.labels import benefit_titles
from subsidy_batch.outputs.report import write_report_xlsx
from subsidy_batch.rules.config import load_county
from tests.helpers import CONFIG, ROOT

RUN = ROOT / "runs" / "jiaxiang" / "2024-04"
CREATED = datetime(2024, 4, 1)
FULL_ID = re.compile(r"\d{17}[\dXx]")
CHROMIUM = Path("/usr/bin/chromium")


def _stored() -> tuple[dict, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    manifest = json.loads((RUN / "manifest.json").read_text(encoding="utf-8"))
    return (
        manifest,
        pl.read_parquet(RUN / "line_items.parquet"),
        pl.read_parquet(RUN / "payments.parquet"),
        pl.read_parquet(RUN / "rejected.parquet"),
    )


def _titles() -> dict[str, str]:
    return benefit_titles(load_county(CONFIG, "jiaxiang").files)


def _report(path: Path, **extra) -> dict:
    manifest, items, pays, rejected = _stored()
    write_report_xlsx(
        path,
        county_name=manifest["county_name"],
        period=manifest["period"],
        items=items,
        payments=pays,
        rejected=rejected,
        totals=manifest["totals"],
        created=CREATED,
        benefit_names=_titles(),
        **extra,
    )
    return manifest


def _rows(path: Path, sheet: int | str) -> list[list[object]]:
    loaded = fastexcel.read_excel(path).load_sheet(sheet, header_row=None)
    return [list(r) for r in pl.DataFrame(loaded.to_polars()).iter_rows()]


def _int(value: object) -> int:
    return int(Decimal(str(value)))


def _dec(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _text_cells(path: Path) -> list[str]:
    book = fastexcel.read_excel(path)
    return [str(v) for name in book.sheet_names for row in _rows(path, name) for v in row if v is not None]


# --- report.xlsx -------------------------------------------------------------------------------------


def test_report_xlsx_has_its_sheets_and_its_totals_equal_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    manifest = _report(path)
    totals = manifest["totals"]
    assert fastexcel.read_excel(path).sheet_names == ["汇总", "暂缓发放", "问题数据"]
    summary = _rows(path, "汇总")
    assert summary[0][0] == "嘉祥县2024年4月 养老补贴发放汇总表"
    assert summary[1][:7] == [
        "项目",
        "项目代码",
        "享受人数",
        "条目数",
        "发放条目",
        "发放金额（元）",
        "暂缓条目",
    ]
    by_code = {row[1]: row for row in summary[2:] if row[1] in totals["by_benefit"]}
    assert set(by_code) == set(totals["by_benefit"])  # every benefit keeps its row, even with nothing paid
    for code, stated in totals["by_benefit"].items():
        row = by_code[code]
        assert (_int(row[4]), _dec(row[5]), _int(row[6])) == (
            stated["paid_items"],
            Decimal(stated["paid_amount"]),
            stated["held_items"],
        ), code
    assert by_code["low_income_living"][0] == "经济困难老年人生活补贴"  # the Chinese name from the config
    total = next(row for row in summary if row[0] == "合计")
    assert (_int(total[3]), _int(total[4]), _dec(total[5]), _int(total[6])) == (
        totals["line_items"],
        totals["paid_items"],
        Decimal(totals["paid_amount"]),
        totals["held_items"],
    )
    # the 乡镇 × age band table: bands as headers, its 合计 row equals the paid amount
    header = next(row for row in summary if row[0] == "乡镇（街道）")
    assert header[1:9] == [
        "60-79岁人数",
        "60-79岁金额",
        "80-89岁人数",
        "80-89岁金额",
        "90-99岁人数",
        "90-99岁金额",
        "100岁及以上人数",
        "100岁及以上金额",
    ]
    band_total = [row for row in summary if row[0] == "合计"][1]
    assert sum(Decimal(str(band_total[i])) for i in (2, 4, 6, 8)) == Decimal(totals["paid_amount"])
    assert (
        sum(_int(band_total[i]) for i in (1, 3, 5, 7))
        == pl.read_parquet(RUN / "line_items.parquet").get_column("id_number").n_unique()
    )
    # the held table: every reason with its items and the amount they would pay; the stored April run
    # holds 10 items for want of an account (1,840.00 yuan) and 472 whose standard is not set (no amount)
    held = {row[1]: (_int(row[2]), row[3]) for row in summary if row[1] in totals["held_items_by_reason"]}
    assert held["no_bank_account"][0] == 10
    assert _dec(held["no_bank_account"][1]) == Decimal(totals["held_amount_by_reason"]["no_bank_account"])
    assert _dec(held["no_bank_account"][1]) == Decimal("1840.00")
    assert held["standard_not_set"] == (472, "标准未定")  # never a silent 0
    assert _dec(held["bank_returned"][1]) == Decimal("0.00")
    assert sum(n for n, _ in held.values()) == totals["held_items"]
    # the signature block
    flat = [v for row in summary for v in row if v is not None]
    assert {"经办人：", "审核人：", "负责人：", "日期："} <= set(flat)


def test_report_xlsx_lists_every_held_item_with_its_reason_and_every_rejected_problem(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    manifest = _report(path)
    held = _rows(path, "暂缓发放")
    assert held[1][:7] == ["乡镇（街道）", "姓名", "身份证号", "项目", "项目代码", "暂缓原因", "原因代码"]
    assert len(held) - 2 == manifest["totals"]["held_items"]
    # every hold reason the manifest counts, and only those, with its Chinese words
    reasons = {k for k, n in manifest["totals"]["held_items_by_reason"].items() if n}
    assert {row[6] for row in held[2:]} == reasons
    assert "标准未定（政策未给出金额）" in {row[5] for row in held[2:]}
    problems = _rows(path, "问题数据")
    assert len(problems) - 2 == manifest["totals"]["rejection_problems"]
    assert not any(FULL_ID.search(text) for text in _text_cells(path))  # IDs masked, as in rejected.xlsx


def test_an_id_number_typed_into_a_held_persons_name_is_masked_on_the_held_sheet(tmp_path: Path) -> None:
    """A clerk who pasted the ID into 姓名: the 暂缓发放 sheet shows it as 370829********0002, like
    rejected.xlsx and the 公示 lists, never the 18 digits."""
    manifest, items, pays, rejected = _stored()
    typed = "370829195209210002"
    first_held = items.with_row_index("i").filter(pl.col("status") == "held").item(0, "i")
    items = items.with_columns(
        name=pl.when(pl.int_range(pl.len()) == first_held).then(pl.lit(typed)).otherwise(pl.col("name"))
    )
    path = tmp_path / "report.xlsx"
    write_report_xlsx(
        path,
        county_name=manifest["county_name"],
        period=manifest["period"],
        items=items,
        payments=pays,
        rejected=rejected,
        totals=manifest["totals"],
        created=CREATED,
        benefit_names=_titles(),
    )
    assert "370829********0002" in {row[1] for row in _rows(path, "暂缓发放")[2:]}
    assert not any(typed in text for text in _text_cells(path))


def test_report_xlsx_adds_the_ledger_sheets_only_when_given(tmp_path: Path) -> None:
    changes = pl.DataFrame(
        {
            "id_number": ["370829193012310000"],
            "name": ["林德国"],
            "benefit": ["low_income_living"],
            "change": ["new"],
            "old_amount": [None],
            "new_amount": [Decimal("200.00")],
            "new_status": ["paid"],
        },
        schema_overrides={"old_amount": pl.Decimal(18, 2), "new_amount": pl.Decimal(18, 2)},
    )
    path = tmp_path / "report.xlsx"
    _report(path, changes=changes, recoveries=changes.head(0))
    assert fastexcel.read_excel(path).sheet_names == ["汇总", "暂缓发放", "问题数据", "变动", "追回"]
    rows = _rows(path, "变动")
    assert rows[1] == ["身份证号", "姓名", "项目代码", "变动", "原金额", "新金额", "新状态"]
    assert rows[2][0] == "370829********0000" and rows[2][6] == "发放 paid"


def test_report_xlsx_is_the_same_bytes_each_time(tmp_path: Path) -> None:
    _report(tmp_path / "a.xlsx")
    _report(tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("by_benefit", "low_income_living", "paid_amount"), "3500.00", "low_income_living"),
        # April holds 1,840.00 for want of an account, not 1,800.00
        (
            ("held_amount_by_reason", "no_bank_account"),
            "1800.00",
            r"held amount no_bank_account 1840\.00 != manifest 1800\.00",
        ),
    ],
)
def test_a_report_that_would_disagree_with_the_manifest_is_refused(
    tmp_path: Path, path: tuple[str, ...], value: str, message: str
) -> None:
    manifest, items, pays, rejected = _stored()
    totals = json.loads(json.dumps(manifest["totals"]))
    place = totals
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    with pytest.raises(ReconciliationError, match=message):
        write_report_xlsx(
            tmp_path / "r.xlsx",
            county_name="嘉祥县",
            period="2024-04",
            items=items,
            payments=pays,
            rejected=rejected,
            totals=totals,
            created=CREATED,
        )
    assert not (tmp_path / "r.xlsx").exists()


# --- 公示 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"), [("张三丰", "张*丰"), ("李四", "李*"), ("欧阳小明", "欧**明"), ("王", "*"), ("", "")]
)
def test_a_name_on_a_gongshi_list_keeps_its_first_and_last_character(name: str, shown: str) -> None:
    assert load_gongshi(CONFIG).name.apply(name) == shown


def test_an_id_on_a_gongshi_list_shows_6_digits_8_stars_and_4_digits() -> None:
    assert load_gongshi(CONFIG).id_number.apply("37082919440510123X") == "370829********123X"
    assert Mask(6, 4, stars=8).apply("12345") == "********"  # never the whole of a short value


def test_the_gongshi_config_is_read_strictly(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    text = (CONFIG / "shared" / "gongshi.yaml").read_text(encoding="utf-8")
    (tmp_path / "shared" / "gongshi.yaml").write_text(
        text.replace("keep_last: 1,", "keep_lst: 1,"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"gongshi.yaml: masking.name: unknown key 'keep_lst'"):
        load_gongshi(tmp_path)
    assert "disbursement.md §3" in load_gongshi(CONFIG).source


@pytest.mark.parametrize("mask", ["7", "X", "张"])
def test_a_gongshi_mask_that_could_be_read_as_part_of_an_id_or_name_is_refused(
    tmp_path: Path, mask: str
) -> None:
    """mask: "7" turned 370829194405101234 into 370829777777771234, 18 digits that read as an ID number."""
    (tmp_path / "shared").mkdir()
    text = (CONFIG / "shared" / "gongshi.yaml").read_text(encoding="utf-8")
    edited = text.replace('stars: 8, mask: "*"', f'stars: 8, mask: "{mask}"')
    assert edited != text
    (tmp_path / "shared" / "gongshi.yaml").write_text(edited, encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=r"gongshi.yaml: masking.id_number.mask: mask must be one character that is not a letter or "
        r'digit, e.g. "\*"',
    ):
        load_gongshi(tmp_path)


def test_gongshi_lists_show_only_paid_items_per_township_and_leak_no_id_account_or_name(
    tmp_path: Path,
) -> None:
    manifest, items, pays, _ = _stored()
    written = write_gongshi(
        tmp_path,
        items,
        county_name="嘉祥县",
        period="2024-04",
        masking=load_gongshi(CONFIG),
        created=CREATED,
        benefit_names=_titles(),
    )
    paid = items.filter(pl.col("status") == "paid")
    townships = sorted(paid.get_column("township").unique().to_list())
    assert sorted(written) == sorted(f"gongshi/{t}.{ext}" for t in townships for ext in ("xlsx", "html"))
    listed = 0
    secrets = set(items.get_column("id_number")) | set(pays.get_column("bank_account").drop_nulls())
    names = {n for n in items.get_column("name").to_list() if n}
    for township in townships:
        rows = _rows(tmp_path / "gongshi" / f"{township}.xlsx", 0)
        assert tuple(rows[1][:7]) == COLUMNS
        body = [r for r in rows[2:] if r[0] is not None and str(r[0]).isdigit()]
        listed += len(body)
        assert {r[3] for r in body} == {township}
        page = (tmp_path / "gongshi" / f"{township}.html").read_text(encoding="utf-8")
        assert "@page { size: A4" in page
        texts = [str(v) for r in rows for v in r if v is not None] + [re.sub(r"<[^>]+>", " ", page)]
        for text in texts:
            assert not FULL_ID.search(text), text
            assert not any(s in text for s in secrets)
            assert not re.search(r"\d{8,}", text), text  # no account, no birth date (19440510)
            for name in names:
                assert name not in text, (name, text)
    assert listed == paid.height == manifest["totals"]["paid_items"]


def test_gongshi_lists_are_the_same_bytes_each_time(tmp_path: Path) -> None:
    _, items, _, _ = _stored()
    for out in ("a", "b"):
        write_gongshi(
            tmp_path / out,
            items,
            county_name="嘉祥县",
            period="2024-04",
            masking=load_gongshi(CONFIG),
            created=CREATED,
        )
    a = sorted((tmp_path / "a").rglob("*.*"))
    assert a and all(
        p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes() for p in a
    )


# --- report.html --------------------------------------------------------------------------------------


def _html(path: Path) -> str:
    manifest, items, _, _ = _stored()
    write_report_html(
        path,
        county_name=manifest["county_name"],
        period=manifest["period"],
        items=items,
        totals=manifest["totals"],
        trend=stored_trend(ROOT / "runs", "jiaxiang"),
        created=CREATED,
        benefit_names=_titles(),
    )
    return path.read_text(encoding="utf-8")


def test_report_html_is_self_contained(tmp_path: Path) -> None:
    page = _html(tmp_path / "report.html")
    for chart in CHARTS:
        assert f'<svg id="{chart}"' in page
    assert not re.search(
        r"https?:|//[a-z]|<script|<link|<img|<iframe|@import|url\(|\bsrc=|\bhref=", page, re.I
    )
    march = json.loads((ROOT / "runs" / "jiaxiang" / "2024-03" / "manifest.json").read_text(encoding="utf-8"))
    shown = f"{Decimal(march['totals']['paid_amount']):,.2f}"  # e.g. 54,310.00
    assert "2024-03" in page and shown in page  # the trend includes the stored March run
    assert page == _html(tmp_path / "again.html")


def test_stored_trend_reads_the_accepted_monthly_runs_in_order() -> None:
    found = [p for p, _ in stored_trend(ROOT / "runs", "jiaxiang")]
    # the six stored months in order (the quick start may have added 2024-05 after them); the supplement
    # of 2024-03 is not a month of its own
    assert found[:6] == ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04"]
    months = sorted(m.parent.name for m in (ROOT / "runs" / "jiaxiang").glob("20??-??/manifest.json"))
    assert found == months and "2024-03-s1" not in found
    assert stored_trend(ROOT / "runs", "anqiu") == []  # a facilities run is not a month


_BROWSER_OWN = ("google.com", "googleapis.com", "gvt1.com")  # the browser's own update/time checks


def _render(page: Path, tmp_path: Path) -> tuple[str, set[str]]:
    """The DOM Chromium renders, and every remote URL the page asked for (from its network log)."""
    log = tmp_path / f"{page.stem}-net.json"
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--proxy-server=127.0.0.1:9",  # nothing remote could load even if asked for
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--log-net-log={log}",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    urls = set(re.findall(r'"url":"([^"]*)"', log.read_text(encoding="utf-8", errors="replace")))
    remote = {
        u
        for u in urls
        if not u.startswith(("file:", "data:", "about:", "chrome"))
        and not any(re.match(rf"https?://([a-z0-9-]+\.)*{re.escape(host)}[/:]", u) for host in _BROWSER_OWN)
    }
    return done.stdout, remote


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
)
def test_report_html_renders_in_chromium_with_every_chart_and_loads_nothing_remote(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    _html(page)
    dom, remote = _render(page, tmp_path)
    for chart in CHARTS:
        assert re.search(rf'<svg id="{chart}"[^>]*>.*?<(rect|polyline|circle)', dom, re.S), chart
    assert "嘉祥县2024年4月养老补贴发放情况" in dom
    assert remote == set()
    # the check can fail: a page that asks for an image on the network is caught
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><img src="http://198.51.100.7/x.png"></body></html>', encoding="utf-8"
    )
    assert _render(bad, tmp_path)[1] == {"http://198.51.100.7/x.png"}


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=25)), min_size=1, max_size=20),
    keep_first=st.integers(0, 8),
    keep_last=st.integers(0, 8),
    stars=st.one_of(st.none(), st.integers(1, 18)),
)
def test_a_mask_in_polars_is_the_mask_in_python(
    values: list[str | None], keep_first: int, keep_last: int, stars: int | None
) -> None:
    mask = Mask(keep_first, keep_last, "*", stars)
    shown = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(mask.expr(pl.col("v"))).to_series()
    assert shown.to_list() == [mask.apply(v) for v in values]


def test_the_gongshi_total_counts_people_by_their_full_id_not_the_masked_one(tmp_path: Path) -> None:
    # 万张镇 in Jiaxiang's stored 2023-11 run: 19 paid items of 16 people, two of whom share a masked ID
    # (372929********0007 twice: same area code, same last four characters), which a count of the masked
    # IDs shows as 15 people
    run = ROOT / "runs" / "jiaxiang" / "2023-11"
    items = pl.read_parquet(run / "line_items.parquet")
    paid = items.filter(pl.col("status") == "paid", pl.col("township") == "万张镇")
    masked = paid.select(pl.col("id_number").str.slice(0, 6) + pl.col("id_number").str.slice(-4)).n_unique()
    assert (paid.height, paid.get_column("id_number").n_unique(), masked) == (19, 16, 15)
    write_gongshi(
        tmp_path,
        items,
        county_name="嘉祥县",
        period="2023-11",
        masking=load_gongshi(run / "input" / "config"),
        created=datetime(2023, 11, 1),
    )
    page = (tmp_path / "gongshi" / "万张镇.html").read_text(encoding="utf-8")
    assert "合计：16 人，19 项，1575.00 元" in page
    sheet = (
        fastexcel.read_excel(tmp_path / "gongshi" / "万张镇.xlsx").load_sheet(0, header_row=None).to_polars()
    )
    assert "合计：16 人，19 项，1575.00 元" in [str(v) for v in sheet.to_series(0).to_list()]


def test_a_long_held_list_shows_its_first_rows_in_township_and_id_order_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subsidy_batch.outputs import report

    monkeypatch.setattr(report, "DETAIL_ROWS", 3)
    path = tmp_path / "report.xlsx"
    manifest = _report(path)
    _, items, _, _ = _stored()
    first = (
        items.filter(pl.col("status") == "held")
        .sort("township", "id_number", "benefit", maintain_order=True)
        .head(3)
    )
    held = _rows(path, "暂缓发放")
    assert f"（{manifest['totals']['held_items']} 条）" in str(held[0][0])
    assert "此处列出前 3 条，全部见 line_items.parquet（status = held）" in str(held[0][0])
    assert [(r[0], r[4]) for r in held[2:]] == list(zip(first["township"], first["benefit"], strict=True))
    assert [r[2] for r in held[2:]] == [f"{i[:6]}********{i[-4:]}" for i in first["id_number"]]


def test_held_rows_and_people_counts_are_the_same_by_the_id_key_as_by_the_id_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the run passes its id_key (labels.person); a frame without it uses the ID text: both must give the
    # same held rows in the same order, ties (one person's benefit held for two months) in items' order
    from subsidy_batch.outputs import report
    from subsidy_batch.outputs.labels import person
    from subsidy_batch.roster.idnumber import exact_key

    _, items, _, _ = _stored()
    held = items.filter(pl.col("status") == "held")
    twice = held.with_columns(for_period=pl.lit("2024-03"), amount=pl.col("amount") + Decimal("1.00"))
    both = pl.concat([items, twice])  # each held item now has a twin, listed after every original row
    keyed = both.with_columns(id_key=exact_key(pl.col("id_number")))
    expected = (
        both.with_row_index("i")
        .filter(pl.col("status") == "held")
        .sort("township", "id_number", "benefit", maintain_order=True)
    )
    for cap in (1, 2, 7, 100_000):
        monkeypatch.setattr(report, "DETAIL_ROWS", cap)
        shown = [report._held_sheet(frame, _titles()).rows for frame in (both, keyed)]
        assert isinstance(shown[0], pl.DataFrame) and isinstance(shown[1], pl.DataFrame)
        assert shown[0].equals(shown[1])
        want = expected.head(cap)
        assert shown[0].height == min(cap, held.height * 2)
        assert shown[0].get_column("amount").to_list() == want.get_column("amount").to_list()
        assert shown[0].get_column("township").to_list() == want.get_column("township").to_list()
    # people: 2 x the items of the stored run, the same people counted once either way
    assert both.select(person(both).n_unique()).item() == keyed.select(person(keyed).n_unique()).item()
    assert keyed.select(person(keyed).n_unique()).item() == items.get_column("id_number").n_unique()
    assert report.summary_by_benefit(both, ["high_age_allowance"]) == report.summary_by_benefit(
        keyed, ["high_age_allowance"]
    )
    assert report.township_age_table(both) == report.township_age_table(keyed)


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(
        st.one_of(st.none(), st.text(alphabet=st.sampled_from("张王&<>\"' x1"), max_size=8)),
        min_size=1,
        max_size=8,
    )
)
def test_the_rows_of_a_gongshi_page_are_escaped_as_html_escape_does(texts: list[str | None]) -> None:
    # _page writes its <tr> lines with polars; a column with nothing to escape is written as it is
    import html

    from subsidy_batch.outputs.gongshi import _page

    n = len(texts)
    rows = pl.DataFrame(
        {
            "i": list(range(1, n + 1)),
            "name": texts,
            "id_number": ["370829********0012"] * n,
            "township": list(reversed(texts)),
            "benefit": ["高龄津贴"] * n,
            "amount": [Decimal("100.00")] * (n - 1) + [None],
            "remark": [None, *texts[1:]],
        },
        schema={
            "i": pl.Int64,
            "name": pl.String,
            "id_number": pl.String,
            "township": pl.String,
            "benefit": pl.String,
            "amount": pl.Decimal(18, 2),
            "remark": pl.String,
        },
    )
    classes = ("n", "", "id", "", "", "m", "r")
    expected = [
        "<tr>"
        + "".join(
            (f'<td class="{c}">' if c else "<td>") + html.escape("" if v is None else str(v)) + "</td>"
            for c, v in zip(classes, row, strict=True)
        )
        + "</tr>"
        for row in rows.iter_rows()
    ]
    page = _page("标题", rows, ("注",)).decode("utf-8")
    body = page.split("<tbody>\n", 1)[1].split("\n</tbody>", 1)[0]
    assert body.split("\n") == expected
    # no rows: the body is one line break, as before the lines were written by polars' CSV writer
    empty = _page("标题", rows.clear(), ("注",)).decode("utf-8")
    assert "<tbody>\n\n</tbody>\n</table>\n<p>注</p>\n</body>" in empty


def test_a_persons_items_for_several_months_keep_their_order_on_the_gongshi_list() -> None:
    # one person's benefit paid for April and, as arrears, for March and May: the list sorts by 乡镇, ID
    # and benefit, and keeps the line items' own order among the three (a stable sort: the same bytes)
    from subsidy_batch.outputs.gongshi import gongshi_rows

    _, items, _, _ = _stored()
    paid = items.filter(pl.col("status") == "paid")
    one = paid.head(1)
    masked = f"{one['id_number'][0][:6]}********{one['id_number'][0][-4:]}"
    months = pl.concat(
        [
            one.with_columns(for_period=pl.lit(m), amount=pl.lit(Decimal(a)).cast(pl.Decimal(18, 2)))
            for m, a in (("2024-04", "100.00"), ("2024-03", "90.00"), ("2024-05", "80.00"))
        ]
    )
    shown = pl.col("id_number").str.slice(0, 6) + "********" + pl.col("id_number").str.slice(-4)
    others = paid.filter(shown != masked).head(200)  # nobody else shows the same masked ID
    for frame in (pl.concat([others, months]), pl.concat([months, others])):
        rows = gongshi_rows(frame, load_gongshi(CONFIG), {})
        amounts = rows.filter(pl.col("id_number") == masked).get_column("amount").to_list()
        assert amounts == [Decimal("100.00"), Decimal("90.00"), Decimal("80.00")]


def test_a_month_paid_as_arrears_or_reissued_is_named_on_the_gongshi_list(tmp_path: Path) -> None:
    """Two rows of one person and benefit read as a double payment unless each names its month: 王补发's
    arrears for 2023-12 and 2024-01 (stored February run, 80.00 each) say 补发, and a reissue says 重发;
    a regular row has no remark."""
    run = ROOT / "runs" / "jiaxiang" / "2024-02"
    items = pl.read_parquet(run / "line_items.parquet")
    reissued = items.filter(pl.col("name") == "王补发", pl.col("kind") == "regular").with_columns(
        kind=pl.lit("reissue"), for_period=pl.lit("2023-11")
    )
    write_gongshi(
        tmp_path,
        pl.concat([items, reissued]),
        county_name="嘉祥县",
        period="2024-02",
        masking=load_gongshi(CONFIG),
        created=CREATED,
        benefit_names=_titles(),
    )
    rows = _rows(tmp_path / "gongshi" / "纸坊镇.xlsx", 0)
    assert tuple(rows[1]) == COLUMNS
    wang = [r[4:] for r in rows[2:] if r[1] == "王*发"]
    # sorted by 乡镇, ID and benefit, keeping the items' order (by month, then the reissue added last)
    assert wang == [
        ["经济困难老年人生活补贴", "80", "补发2023年12月"],
        ["经济困难老年人生活补贴", "80", "补发2024年1月"],
        ["经济困难老年人生活补贴", "80", None],
        ["经济困难老年人生活补贴", "80", "重发2023年11月"],
    ]
    page = (tmp_path / "gongshi" / "纸坊镇.html").read_text(encoding="utf-8")
    assert page.count('<td class="r">补发') == 2 and page.count('<td class="r">重发2023年11月</td>') == 1
