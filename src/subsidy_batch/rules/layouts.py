"""Bank file layouts as data (config/banks/<layout>.yaml) and the bank reason texts (config/banks/reasons.yaml).

A layout declares a payment file and the result file (回盘) a bank sends back for it: the format
(delimited text, fixed-width text in bytes, or an .xlsx sheet), encoding, how amounts are written, the
file-name pattern, and the records (header, detail, trailer) as ordered fields. Each field takes its value
from a closed set of sources, so the same declaration writes a file and parses it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from subsidy_batch.errors import ConfigError
from subsidy_batch.rules.strict import Node, read_yaml

FORMATS = ("delimited", "fixed", "xlsx")
ENCODINGS = ("county", "gb18030", "utf-8")  # county: the county's bank_file_encoding
AMOUNTS = ("yuan", "fen")  # yuan with 2 decimals ("85.00"), or integer fen ("8500")
QUOTING = ("necessary",)  # RFC 4180: only fields holding the delimiter, a quote or a line break
ALIGN = ("left", "right")
PADS = (" ", "0")
STATUSES = ("succeeded", "failed")
REASON_CODES = (
    "name_mismatch",
    "no_such_account",
    "account_closed",
    "account_frozen",
    "id_mismatch",
    "holder_deceased",
    "other",
)
LAYOUT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DEFAULT_LAYOUT = "csv"

# the sources a field may take its value from, per record kind; text is a fixed text, blank is empty
CONTROL = ("record", "batch_id", "period", "bank_name", "count", "total", "text", "blank")
DETAIL = (
    "record",
    "reference",
    "sequence",
    "name",
    "id_number",
    "account",
    "amount",
    "memo",
    "text",
    "blank",
)
RETURN_CONTROL = (*CONTROL, "succeeded_count", "succeeded_total", "failed_count", "failed_total")
RETURN_DETAIL = (*DETAIL, "status", "reason_code", "reason_text")

_LAYOUT_KEYS = {
    "title",
    "note",
    "format",
    "encoding",
    "amount",
    "delimiter",
    "quoting",
    "neutralise_formulas",
    "sheet",
    "file_name",
    "records",
    "returns",
}
_RETURN_KEYS = {"file_name", "sheet", "records", "statuses"}
_RECORDS_KEYS = {"header", "detail", "trailer"}
_RECORD_KEYS = {"code", "fields"}
_FIELD_KEYS = {"field", "text", "label", "width", "align", "pad"}
_FILE_NAME = {"index": "01", "bank": "银行", "stem": "bank_01_银行"}


@dataclass(frozen=True)
class FieldSpec:
    source: str
    text: str = ""  # the fixed text of source text
    label: str = ""  # xlsx: the column header (detail) or the label cell before the value (header)
    width: int = 0  # fixed: bytes in the file's encoding
    align: str = "left"
    pad: str = " "


@dataclass(frozen=True)
class Record:
    code: str  # what the `record` field holds ("H", "D", "T", "合计"); "" when no field shows it
    fields: tuple[FieldSpec, ...]

    def has(self, source: str) -> bool:
        return any(f.source == source for f in self.fields)

    @property
    def width(self) -> int:
        return sum(f.width for f in self.fields)


@dataclass(frozen=True)
class Records:
    """The records of one file: an optional header, the detail record, an optional trailer."""

    header: Record | None
    detail: Record
    trailer: Record | None

    @property
    def controls(self) -> tuple[Record, ...]:
        return tuple(r for r in (self.header, self.trailer) if r is not None)

    def control_has(self, source: str) -> bool:
        return any(r.has(source) for r in self.controls)


@dataclass(frozen=True)
class ReturnSpec:
    file_name: str  # placeholders {stem} (the payment file's stem), {index}, {bank}
    sheet: str
    records: Records
    statuses: dict[str, str]  # the bank's word -> succeeded / failed


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    format: str
    encoding: str
    amount: str
    delimiter: str
    neutralise_formulas: bool
    sheet: str
    file_name: str  # placeholders {index} (01, 02, ...) and {bank} (the bank name made safe for a file name)
    records: Records
    returns: ReturnSpec
    source: Path | None = None  # the declaration file; None for the built-in copy of csv

    def file_encoding(self, county_encoding: str) -> str:
        return county_encoding if self.encoding == "county" else self.encoding


@dataclass(frozen=True)
class BankLayouts:
    """A county's choice of layout per bank name (as written in its rosters), with a default."""

    default: Layout
    by_bank: dict[str, Layout] = field(default_factory=dict)

    def for_bank(self, bank_name: str) -> Layout:
        return self.by_bank.get(bank_name, self.default)

    @property
    def files(self) -> tuple[Path, ...]:
        """The declaration files used, in name order (snapshotted with a run, part of its fingerprint)."""
        used = {layout.name: layout.source for layout in (self.default, *self.by_bank.values())}
        return tuple(p for _, p in sorted(used.items()) if p is not None)


# ---- loading -------------------------------------------------------------------------------------------


def _field(node: Node, sources: tuple[str, ...], fmt: str) -> FieldSpec:
    if isinstance(node.value, str):  # a bare source name: [record, batch_id, ...]
        node = Node({"field": node.value}, node.where)
    spec = node.mapping(_FIELD_KEYS, required=("field",))
    source = spec["field"].choice(sources)
    text = ""
    if source == "text":
        if "text" not in spec:
            raise node.error("a field of source 'text' needs 'text' (what it holds)")
        text = spec["text"].text()
    elif "text" in spec:
        raise spec["text"].error("'text' is only for fields of source 'text'")
    width = 0
    if (
        spec.get("pad") is not None
        and spec["pad"].value == "0"
        and (spec["align"].value if "align" in spec else "left") != "right"
    ):
        raise spec["pad"].error("a field padded with 0 is aligned right (align: right)")
    if fmt == "fixed":
        if "width" not in spec:
            raise node.error("a fixed-width field needs 'width' (bytes)")
        width = spec["width"].integer(1, 200)
        if len(text.encode("gb18030")) > width:
            raise spec["text"].error(f"{text!r} is wider than the field's {width} bytes")
    elif any(k in spec for k in ("width", "align", "pad")):
        key = next(k for k in ("width", "align", "pad") if k in spec)
        raise spec[key].error(f"'{key}' is only for fixed-width layouts")
    label = spec["label"].text() if "label" in spec else ""
    return FieldSpec(
        source,
        text,
        label,
        width,
        spec["align"].choice(ALIGN) if "align" in spec else "left",
        spec["pad"].choice(PADS) if "pad" in spec else " ",
    )


def _record(node: Node, sources: tuple[str, ...], fmt: str) -> Record:
    rec = node.mapping(_RECORD_KEYS, required=("fields",))
    fields = tuple(_field(f, sources, fmt) for f in rec["fields"].items())
    if not fields:
        raise rec["fields"].error("a record needs at least one field")
    named = [f.source for f in fields if f.source not in ("text", "blank")]
    twice = next((source for source in named if named.count(source) > 1), None)
    if twice is not None:
        raise rec["fields"].error(
            f"{twice!r} is given twice; a record holds each field once (only 'text' and 'blank' may repeat)"
        )
    code = rec["code"].text() if "code" in rec else ""
    if any(f.source == "record" for f in fields) and not code:
        raise node.error("a record with a 'record' field needs 'code' (what that field holds)")
    if fmt == "fixed" and fields[0].source != "record":
        raise rec["fields"].error("the first field of a fixed-width record is 'record' (its type)")
    if fmt == "fixed" and len(code.encode("gb18030")) > fields[0].width:
        raise rec["code"].error(f"{code!r} is wider than its field's {fields[0].width} bytes")
    return Record(code, fields)


def _records(
    node: Node, control: tuple[str, ...], detail: tuple[str, ...], fmt: str, needs: dict[str, tuple[str, ...]]
) -> Records:
    recs = node.mapping(_RECORDS_KEYS, required=("detail",))
    out = Records(
        _record(recs["header"], control, fmt) if "header" in recs else None,
        _record(recs["detail"], detail, fmt),
        _record(recs["trailer"], control, fmt) if "trailer" in recs else None,
    )
    for source in needs["control"]:
        if not out.control_has(source):
            raise node.error(f"no header or trailer field holds {source!r}, which a bank file needs")
    if not (out.detail.has("reference") or out.detail.has("sequence")):
        raise recs["detail"].error("the detail record needs a 'reference' or a 'sequence' field")
    for source in needs["detail"]:
        if not out.detail.has(source):
            raise recs["detail"].error(f"the detail record needs a {source!r} field")
    for name, record in (("header", out.header), ("detail", out.detail)):
        for i, spec in enumerate(record.fields if record is not None and fmt == "xlsx" else ()):
            if not spec.label and spec.source not in ("record", "text", "blank"):
                raise recs[name].error(
                    f"field {i + 1} ({spec.source}) needs 'label': its column header or label cell"
                )
    if fmt != "xlsx":
        codes = [r.code for r in (out.header, out.detail, out.trailer) if r is not None]
        if len(set(codes)) != len(codes) or not all(
            r.has("record") for r in (out.header, out.detail, out.trailer) if r
        ):
            raise node.error("every record of a text layout needs a 'record' field with a code of its own")
    elif out.trailer is not None and len(out.trailer.fields) > len(out.detail.fields):
        raise recs["trailer"].error("the 合计 row of a sheet has at most as many cells as a detail row")
    return out


def _file_name(node: Node, **example: str) -> str:
    pattern = node.template(**example)
    if re.search(r"[\\/]|\.\.", pattern.format(**example)):
        raise node.error("a file name may not hold a folder ('/', '\\' or '..')")
    return pattern


def load_layout(path: Path) -> Layout:
    """Load one layout declaration strictly; any defect is a ConfigError naming the file and key."""
    if not LAYOUT_NAME.match(path.stem):
        raise ConfigError(f"{path}: a layout's file name must be a lower_snake_case name, e.g. csv.yaml")
    top = read_yaml(path, "bank layout")
    raw = top.mapping(_LAYOUT_KEYS, required=("title", "format", "file_name", "records", "returns"))
    fmt = raw["format"].choice(FORMATS)
    if fmt == "xlsx":
        if "encoding" in raw or "delimiter" in raw or "quoting" in raw:
            key = next(k for k in ("encoding", "delimiter", "quoting") if k in raw)
            raise raw[key].error(f"'{key}' is not for an xlsx layout")
        if "sheet" not in raw:
            raise top.error("missing 'sheet' (the name of the sheet an xlsx layout writes)")
    elif "sheet" in raw:
        raise raw["sheet"].error("'sheet' is only for xlsx layouts")
    delimiter = ""
    if fmt == "delimited":
        if "delimiter" not in raw:
            raise top.error('missing \'delimiter\' (e.g. "," or "|")')
        delimiter = raw["delimiter"].text()
        if len(delimiter) != 1 or delimiter in '"\r\n' or delimiter.isalnum():
            raise raw["delimiter"].error(
                "must be one character that is not a letter, digit, quote or line break"
            )
        if "quoting" in raw:
            raw["quoting"].choice(QUOTING)
    elif "delimiter" in raw or "quoting" in raw:
        key = "delimiter" if "delimiter" in raw else "quoting"
        raise raw[key].error(f"'{key}' is only for delimited layouts")
    encoding = "" if fmt == "xlsx" else (raw["encoding"].choice(ENCODINGS) if "encoding" in raw else "county")
    if fmt == "fixed" and encoding == "county":
        raise top.error("a fixed-width layout names its encoding (widths are bytes in it): gb18030 or utf-8")
    records = _records(
        raw["records"],
        CONTROL,
        DETAIL,
        fmt,
        {"control": ("batch_id", "count", "total"), "detail": ("name", "id_number", "account", "amount")},
    )
    returns = _returns(raw["returns"], fmt)
    sheet = raw["sheet"].text() if "sheet" in raw else ""
    if sheet and (len(sheet) > 31 or re.search(r"[\[\]:*?/\\]", sheet)):
        raise raw["sheet"].error("a sheet name has at most 31 characters, none of []:*?/\\")
    if "{index}" not in raw["file_name"].text():  # two banks' files must never take one name
        raise raw["file_name"].error(
            "a bank file's name holds {index} (each bank's number in the run), e.g. bank_{index}_{bank}.csv"
        )
    return Layout(
        name=path.stem,
        title=raw["title"].text(),
        format=fmt,
        encoding=encoding,
        amount=raw["amount"].choice(AMOUNTS) if "amount" in raw else "yuan",
        delimiter=delimiter,
        neutralise_formulas=raw["neutralise_formulas"].boolean() if "neutralise_formulas" in raw else True,
        sheet=sheet,
        file_name=_file_name(raw["file_name"], index="01", bank="银行"),
        records=records,
        returns=returns,
        source=path,
    )


def _returns(node: Node, fmt: str) -> ReturnSpec:
    raw = node.mapping(_RETURN_KEYS, required=("file_name", "records", "statuses"))
    records = _records(
        raw["records"],
        RETURN_CONTROL,
        RETURN_DETAIL,
        fmt,
        {"control": ("batch_id", "count", "total"), "detail": ("amount", "status", "reason_text")},
    )
    statuses = {word: value.choice(STATUSES) for word, value in raw["statuses"].entries().items()}
    if set(statuses.values()) != set(STATUSES):
        raise raw["statuses"].error("name the bank's word for succeeded and for failed")
    if fmt == "xlsx" and "sheet" not in raw:
        raise node.error("missing 'sheet' (the sheet of the result workbook)")
    return ReturnSpec(
        _file_name(raw["file_name"], **_FILE_NAME),
        raw["sheet"].text() if "sheet" in raw else "",
        records,
        statuses,
    )


def layout_path(config_dir: Path, name: str) -> Path:
    return config_dir / "banks" / f"{name}.yaml"


def load_bank_layouts(node: Node, config_dir: Path) -> BankLayouts:
    """A county's `bank_layouts: {default: csv, by_bank: {<bank name>: fixed}}`; each layout named must
    exist under config/banks/."""
    raw = node.mapping({"default", "by_bank"}, required=("default",))
    loaded: dict[str, Layout] = {}

    def named(value: Node) -> Layout:
        name = value.text()
        if not LAYOUT_NAME.match(name) or not layout_path(config_dir, name).is_file():
            known = sorted(p.stem for p in (config_dir / "banks").glob("*.yaml") if p.stem != REASONS)
            raise value.error(f"no layout {name!r} in {config_dir / 'banks'} (known: {', '.join(known)})")
        if name not in loaded:
            loaded[name] = load_layout(layout_path(config_dir, name))
        return loaded[name]

    default = named(raw["default"])
    by_bank = (
        {bank: named(value) for bank, value in raw["by_bank"].entries().items()} if "by_bank" in raw else {}
    )
    return BankLayouts(default, by_bank)


# ---- bank reason texts ---------------------------------------------------------------------------------

REASONS = "reasons"


@dataclass(frozen=True)
class Reasons:
    """Bank reason texts (and the banks' own codes) to the closed set of reason codes; `other` otherwise."""

    texts: dict[str, str]  # exact text, spaces removed -> code
    contains: tuple[tuple[str, str], ...]  # (words the text holds, code), tried in the order written
    bank_codes: dict[str, str]
    source: Path

    def code(self, bank_code: str, text: str) -> str:
        if bank_code in self.bank_codes:
            return self.bank_codes[bank_code]
        squeezed = re.sub(r"\s+", "", text)
        if squeezed in self.texts:
            return self.texts[squeezed]
        return next((code for words, code in self.contains if words in squeezed), "other")


def load_reasons(config_dir: Path) -> Reasons:
    path = config_dir / "banks" / f"{REASONS}.yaml"
    top = read_yaml(path, "bank reasons")
    raw = top.mapping({"title", "note", "codes"}, required=("title", "codes"))
    texts: dict[str, str] = {}
    contains: list[tuple[str, str]] = []
    bank_codes: dict[str, str] = {}
    for code, spec_node in raw["codes"].entries().items():
        if code not in REASON_CODES or code == "other":
            raise spec_node.error(
                f"{code!r} is not a reason code (one of {', '.join(REASON_CODES[:-1])}; "
                "other is what no text matches)"
            )
        spec = spec_node.mapping(
            {"description", "texts", "contains", "bank_codes"}, required=("description",)
        )
        for kind, target in (("texts", texts), ("bank_codes", bank_codes)):
            for item in spec[kind].items() if kind in spec else []:
                key = re.sub(r"\s+", "", item.text())
                if key in target and target[key] != code:
                    raise item.error(f"{key!r} is already mapped to {target[key]}")
                target[key] = code
        contains += [
            (re.sub(r"\s+", "", w.text()), code)
            for w in (spec["contains"].items() if "contains" in spec else [])
        ]
    return Reasons(texts, tuple(contains), bank_codes, path)


# ---- the layout of every run made before layouts were declared, and of a county that names none ----------


def _plain(*sources: str) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(s) for s in sources)


# The same declaration as config/banks/csv.yaml (a test keeps the two equal). It is built in because the
# stored runs' snapshots hold no layout file: a county without bank_layouts reads none, so its run id,
# snapshot and bank files are what they were before layouts were data.
BUILTIN_CSV = Layout(
    name=DEFAULT_LAYOUT,
    title="逗号分隔文本：控制记录 H 在前，明细记录 D 每人一行（本项目一直使用的格式）",
    format="delimited",
    encoding="county",
    amount="yuan",
    delimiter=",",
    neutralise_formulas=True,
    sheet="",
    file_name="bank_{index}_{bank}.csv",
    records=Records(
        Record("H", _plain("record", "batch_id", "period", "bank_name", "count", "total")),
        Record("D", _plain("record", "reference", "name", "id_number", "account", "amount", "memo")),
        None,
    ),
    returns=ReturnSpec(
        "{stem}_回盘.csv",
        "",
        Records(
            Record(
                "H",
                _plain(
                    "record",
                    "batch_id",
                    "period",
                    "bank_name",
                    "count",
                    "total",
                    "succeeded_count",
                    "succeeded_total",
                    "failed_count",
                    "failed_total",
                ),
            ),
            Record(
                "D",
                _plain(
                    "record",
                    "reference",
                    "name",
                    "id_number",
                    "account",
                    "amount",
                    "status",
                    "reason_code",
                    "reason_text",
                ),
            ),
            None,
        ),
        {"成功": "succeeded", "失败": "failed"},
    ),
)
BUILTIN = BankLayouts(BUILTIN_CSV)
