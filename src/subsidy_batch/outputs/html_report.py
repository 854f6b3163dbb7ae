"""report.html: one self-contained page per run with the charts a director looks at (issue 14 item 4).

The offices' machines are offline, so the page loads nothing: no script, no stylesheet or font file, no
image; every chart is inline SVG drawn here, each with its figures in a table beside it. The same run
gives the same bytes (`created` is the only date on the page).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.outputs.labels import age_band, bands_shown, benefit_zh, hold_reason_zh, person
from subsidy_batch.period import Period

REPORT_HTML = "report.html"
# every chart's id on the page (the browser test looks for each)
CHARTS = (
    "chart-benefit-people",
    "chart-benefit-amount",
    "chart-age-people",
    "chart-age-amount",
    "chart-township-people",
    "chart-township-amount",
    "chart-held-reason",
    "chart-held-amount",
    "chart-trend-amount",
    "chart-trend-people",
)
_BAR = "#2f6fb0"
_HELD = "#c0504d"
_CSS = """
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", sans-serif; margin: 16px auto; max-width: 1100px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ccc; }
.grid { display: flex; flex-wrap: wrap; gap: 24px; }
figure { margin: 0; flex: 1 1 500px; }
figcaption { font-weight: bold; margin-bottom: 4px; }
table { border-collapse: collapse; font-size: 13px; margin-top: 6px; }
th, td { border: 1px solid #bbb; padding: 2px 6px; } td.v { text-align: right; }
.kpi { display: flex; gap: 16px; flex-wrap: wrap; } .kpi div { border: 1px solid #ccc; padding: 8px 14px; }
.kpi b { display: block; font-size: 20px; }
svg text { font-size: 12px; fill: #222; }
@page { size: A4 landscape; margin: 12mm; }
@media print { figure { break-inside: avoid; } }
""".strip()


def _e(text: object) -> str:
    return html.escape(str(text))


def _num(value: Decimal | int) -> str:
    return f"{value:,.2f}" if isinstance(value, Decimal) else f"{value:,}"


def bar_chart(
    chart_id: str, caption: str, rows: Sequence[tuple[str, Decimal | int]], color: str = _BAR
) -> str:
    """A horizontal bar chart as inline SVG, with its figures in a table below."""
    label_w, bar_w, row_h = 240, 340, 22
    height = max(len(rows), 1) * row_h + 10
    top = max((float(v) for _, v in rows), default=0.0) or 1.0
    parts = [
        f'<svg id="{chart_id}" role="img" aria-label="{_e(caption)}" width="{label_w + bar_w + 110}" '
        f'height="{height}" viewBox="0 0 {label_w + bar_w + 110} {height}">',
        f"<title>{_e(caption)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        width = bar_w * float(value) / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 6}" fill="{color}"/>'
        )
        parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 15}">{_e(_num(value))}</text>')
    if not rows:
        parts.append(f'<text x="{label_w}" y="20">无数据</text>')
    parts.append("</svg>")
    table = "".join(f'<tr><td>{_e(label)}</td><td class="v">{_e(_num(v))}</td></tr>' for label, v in rows)
    return (
        f"<figure><figcaption>{_e(caption)}</figcaption>{''.join(parts)}"
        f"<details><summary>数据</summary><table>{table}</table></details></figure>"
    )


def line_chart(chart_id: str, caption: str, points: Sequence[tuple[str, Decimal | int]]) -> str:
    """A line chart (month on the x axis) as inline SVG, with its figures in a table below."""
    width, height, left, bottom = 560, 220, 70, 40
    inner_w, inner_h = width - left - 60, height - bottom - 20
    top = max((float(v) for _, v in points), default=0.0) or 1.0
    step = inner_w / max(len(points) - 1, 1)
    xy = [(left + i * step, 20 + inner_h - inner_h * float(v) / top) for i, (_, v) in enumerate(points)]
    parts = [
        f'<svg id="{chart_id}" role="img" aria-label="{_e(caption)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f"<title>{_e(caption)}</title>",
        f'<line x1="{left}" y1="{20 + inner_h}" x2="{left + inner_w}" y2="{20 + inner_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="20" x2="{left}" y2="{20 + inner_h}" stroke="#888"/>',
        f'<text x="{left - 6}" y="24" text-anchor="end">{_e(_num(max((v for _, v in points), default=0)))}</text>',
    ]
    if len(xy) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{_BAR}" stroke-width="2"/>')
    for (label, value), (x, y) in zip(points, xy, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_BAR}"/>')
        parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{_e(_num(value))}</text>')
        parts.append(f'<text x="{x:.1f}" y="{20 + inner_h + 18}" text-anchor="middle">{_e(label)}</text>')
    if not points:
        parts.append(f'<text x="{left + 10}" y="60">无数据</text>')
    parts.append("</svg>")
    table = "".join(f'<tr><td>{_e(label)}</td><td class="v">{_e(_num(v))}</td></tr>' for label, v in points)
    return (
        f"<figure><figcaption>{_e(caption)}</figcaption>{''.join(parts)}"
        f"<details><summary>数据</summary><table>{table}</table></details></figure>"
    )


def _by(items: pl.DataFrame, key: str) -> list[tuple[Any, int, Decimal]]:
    """(key, people with an item, paid amount), in key order."""
    grouped = (
        items.lazy()  # lazy: only the columns used are read
        .group_by(key)
        .agg(
            people=person(items).n_unique(),
            amount=pl.col("amount").filter(pl.col("status") == "paid").sum(),
        )
        .sort(key, nulls_last=True)
        .collect()
    )
    return [(k, int(p), Decimal(str(a or 0)).quantize(Decimal("0.01"))) for k, p, a in grouped.iter_rows()]


def stored_trend(runs_dir: Path, county: str) -> list[tuple[str, dict[str, Any]]]:
    """(period, totals) of every accepted monthly run of a county under runs_dir, in period order: the
    trend that write_report_html draws. Superseded runs are left out; unreadable manifests too."""
    import json

    found = []
    for manifest in sorted((runs_dir / county).glob("*/manifest.json")):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            Period.parse(str(data.get("period")))
        except (OSError, ValueError):
            continue
        if data.get("kind", "monthly") == "monthly" and isinstance(data.get("totals"), dict):
            found.append((str(data["period"]), data["totals"]))
    return sorted(found, key=lambda pt: pt[0])


def write_report_html(
    path: Path,
    *,
    county_name: str,
    period: str,
    items: pl.DataFrame,
    totals: Mapping[str, Any],
    trend: Sequence[tuple[str, Mapping[str, Any]]] = (),
    created: datetime,
    benefit_names: Mapping[str, str] | None = None,
) -> None:
    """Write report.html at path. items is line_items.parquet, totals the manifest's `totals`, trend the
    (period, totals) of the county's earlier runs (stored_trend); this run's own is added to it."""
    titles = benefit_names or {}
    month = Period.parse(period)
    benefits = list(totals.get("by_benefit") or sorted(items.get_column("benefit").unique().to_list()))
    per_benefit = {b: (p, a) for b, p, a in _by(items, "benefit")}
    benefit_people = [(benefit_zh(b, titles), per_benefit.get(b, (0, Decimal("0.00")))[0]) for b in benefits]
    benefit_amount = [(benefit_zh(b, titles), per_benefit.get(b, (0, Decimal("0.00")))[1]) for b in benefits]
    banded = items.with_columns(band=age_band(pl.col("age")))
    per_band = {b: (p, a) for b, p, a in _by(banded, "band")}
    bands = bands_shown(per_band)
    age_people = [(b, per_band.get(b, (0, Decimal("0.00")))[0]) for b in bands]
    age_amount = [(b, per_band.get(b, (0, Decimal("0.00")))[1]) for b in bands]
    per_township = _by(items, "township")
    held = totals.get("held_items_by_reason") or {}
    held_rows = [(f"{hold_reason_zh(code)} ({code})", int(n)) for code, n in held.items()]
    # the money held back, where it is known: an item whose standard is not set has no amount
    held_money = [
        (f"{hold_reason_zh(code)} ({code})", Decimal(str(amount)))
        for code, amount in (totals.get("held_amount_by_reason") or {}).items()
        if amount is not None
    ]
    months = {p: t for p, t in trend if p != period}
    months[period] = totals
    ordered = sorted(months.items())
    trend_amount = [(p, Decimal(str(t.get("paid_amount", "0")))) for p, t in ordered]
    trend_people = [(p, int(t.get("paid_people", 0))) for p, t in ordered]
    title = f"{county_name}{month.year}年{month.month}月养老补贴发放情况"
    kpis = (
        ("花名册人数", _num(int(totals.get("people_read", 0)))),
        ("发放人数", _num(int(totals.get("paid_people", 0)))),
        ("发放金额（元）", _num(Decimal(str(totals.get("paid_amount", "0"))))),
        ("暂缓条目", _num(int(totals.get("held_items", 0)))),
        ("问题数据行", _num(int(totals.get("people_rejected", 0)))),
    )
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p>生成日期：{created:%Y-%m-%d}。本页不联网，所有图表均在本文件内。</p>",
        '<div class="kpi">' + "".join(f"<div>{_e(k)}<b>{_e(v)}</b></div>" for k, v in kpis) + "</div>",
        "<h2>按项目</h2>",
        '<div class="grid">'
        + bar_chart(CHARTS[0], "享受人数（按项目）", benefit_people)
        + bar_chart(CHARTS[1], "发放金额（元，按项目）", benefit_amount)
        + "</div>",
        "<h2>按年龄段</h2>",
        '<div class="grid">'
        + bar_chart(CHARTS[2], "享受人数（按年龄段）", age_people)
        + bar_chart(CHARTS[3], "发放金额（元，按年龄段）", age_amount)
        + "</div>",
        "<h2>按乡镇（街道）</h2>",
        '<div class="grid">'
        + bar_chart(CHARTS[4], "享受人数（按乡镇）", [(str(t), p) for t, p, _ in per_township])
        + bar_chart(CHARTS[5], "发放金额（元，按乡镇）", [(str(t), a) for t, _, a in per_township])
        + "</div>",
        "<h2>暂缓发放</h2>",
        '<div class="grid">'
        + bar_chart(CHARTS[6], "暂缓条目（按原因）", held_rows, _HELD)
        + (
            bar_chart(CHARTS[7], "暂缓金额（元，按原因；标准未定的条目无金额）", held_money, _HELD)
            if held_money
            else ""
        )
        + "</div>",
        "<h2>逐月趋势</h2>",
        '<div class="grid">'
        + line_chart(CHARTS[8], "发放金额（元，逐月）", trend_amount)
        + line_chart(CHARTS[9], "发放人数（逐月）", trend_people)
        + "</div>",
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
    path.write_text(page, encoding="utf-8", newline="\n")
