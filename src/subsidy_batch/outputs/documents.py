"""The documents of a monthly run that clerks print and post: report.xlsx, report.html, the 公示 lists
and rejected.xlsx, each dated the period's first day so that their bytes are reproducible."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.ledger.deaths import DEATHS_PARQUET, DEATHS_REJECTED
from subsidy_batch.outputs.gongshi import file_stem, load_gongshi, write_gongshi
from subsidy_batch.outputs.html_report import REPORT_HTML, write_report_html
from subsidy_batch.outputs.labels import benefit_titles
from subsidy_batch.outputs.report import REPORT_XLSX, write_report_xlsx
from subsidy_batch.outputs.workbook import REJECTED_XLSX, write_rejected_xlsx
from subsidy_batch.period import Period
from subsidy_batch.roster.schema import RosterSchema
from subsidy_batch.rules.config import CountyConfig


def write_documents(
    staging: Path,
    county: str,
    config_dir: Path,
    schema: RosterSchema,
    config: CountyConfig,
    period: Period,
    out: dict[str, pl.DataFrame],
    id_key: pl.Series,
    totals: dict[str, Any],
    trend: tuple[tuple[str, dict[str, Any]], ...],
) -> dict[str, int]:
    """What clerks print and post: report.xlsx (signed), report.html (the director's charts) and the 公示
    lists per 乡镇, dated the period's first day so that their bytes are reproducible.

    `out` holds the run's frames in their contract layout (emit.to_output), by file name; `id_key` is
    the line items' exact ID key, row for row (labels.person: people are counted and held items ordered
    by it)."""
    label = str(period)
    items = out["line_items.parquet"].with_columns(id_key)
    created = datetime(period.year, period.month, 1)
    titles = benefit_titles(config.files)
    changes_frame, recoveries_frame = out["changes.parquet"], out["recoveries.parquet"]
    arrears_frame = out["line_items.parquet"].filter(pl.col("kind") == "arrears")
    # each document a job on two threads, report.xlsx (the longest) beside the 公示 lists: polars, deflate
    # and file writes let go of the interpreter, so one job's Python runs while another's compresses
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [
            pool.submit(
                write_report_xlsx,
                staging / REPORT_XLSX,
                county_name=config.name,
                period=label,
                items=items,
                payments=out["payments.parquet"],
                rejected=out["rejected.parquet"],
                totals=totals,
                changes=changes_frame if changes_frame.height else None,
                arrears=arrears_frame if arrears_frame.height else None,
                recoveries=recoveries_frame if recoveries_frame.height else None,
                deaths=out.get(DEATHS_PARQUET),  # only a run given a death list has these two
                deaths_rejected=out.get(DEATHS_REJECTED),
                created=created,
                benefit_names=titles,
                column_names={s.name: s.zh for s in schema.columns.values()},
            ),
            pool.submit(
                write_report_html,
                staging / REPORT_HTML,
                county_name=config.name,
                period=label,
                items=items,
                totals=totals,
                trend=list(trend),
                created=created,
                benefit_names=titles,
            ),
        ]
        lists = write_gongshi(
            staging,
            items,
            county_name=config.name,
            period=label,
            masking=load_gongshi(config_dir),
            created=created,
            benefit_names=titles,
            pool=pool,
        )
        for job in jobs:
            job.result()  # its error, if any, raised here
    per_township = dict(
        items.lazy().filter(pl.col("status") == "paid").group_by("township").len().collect().iter_rows()
    )  # the rows of each list: its 乡镇's paid items
    rows = {file_stem(str(k)): int(v) for k, v in per_township.items()}
    listed = {name: rows.get(Path(name).stem, 0) for name in lists}
    return {REPORT_XLSX: items.height, REPORT_HTML: items.height} | listed


def write_rejected_workbook(
    staging: Path, rejected: pl.DataFrame, schema: RosterSchema, what: str, period: Period
) -> None:
    """rejected.xlsx: the rejected rows with Chinese headers, IDs masked, dated the period's first day."""
    write_rejected_xlsx(
        rejected,
        staging / REJECTED_XLSX,
        f"{what} 花名册中有问题的行（{rejected.get_column('row').n_unique()} 行，{rejected.height} 个问题）",
        {spec.name: spec.zh for spec in schema.columns.values()},
        datetime(period.year, period.month, 1),
    )
