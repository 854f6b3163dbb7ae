"""Regenerate the bundled synthetic sample rosters under rosters/<county>/ (fixed seed, no real people).

Run: uv run python scripts/make_samples.py
Each county uses a different file format so that every reader is exercised by the quick start.
"""

from __future__ import annotations

from pathlib import Path

from subsidy_batch.period import Period
from subsidy_batch.synth import roster, with_broken_rows

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 3000
PERIOD = Period(2024, 5)
FORMATS = {
    "jiaxiang": "csv-utf8-bom",
    "yanzhou": "xlsx",
    "youyi": "csv-gb18030",
    "anqiu": "parquet",
    "caoxian": "csv-utf8",
}


def main() -> None:
    for seed, (county, fmt) in enumerate(FORMATS.items(), start=1):
        frame = with_broken_rows(roster(county, PEOPLE, PERIOD, seed=seed))
        out_dir = ROOT / "rosters" / county
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob(f"{PERIOD}.*"):
            old.unlink()
        if fmt.startswith("csv"):
            text = frame.write_csv(line_terminator="\r\n")
            data = text.encode("gb18030") if fmt == "csv-gb18030" else text.encode("utf-8")
            if fmt == "csv-utf8-bom":
                data = b"\xef\xbb\xbf" + data
            (out_dir / f"{PERIOD}.csv").write_bytes(data)
        elif fmt == "xlsx":
            frame.write_excel(out_dir / f"{PERIOD}.xlsx", worksheet="花名册", autofit=False)
        else:
            frame.write_parquet(out_dir / f"{PERIOD}.parquet", compression="zstd", statistics=False)
        print(f"{county}: {frame.height} rows -> {out_dir}")


if __name__ == "__main__":
    main()
