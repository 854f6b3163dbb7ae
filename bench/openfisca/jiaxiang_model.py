"""An OpenFisca model of Jiaxiang's (嘉祥县, 370829) elderly-care benefits: a benchmark peer (issue 15).

It encodes the same rules as config/counties/jiaxiang.yaml (and the Shandong base it inherits from
config/shared/shandong_base.yaml), for one month at a time, with openfisca-core:

- Entity: one, ``person`` (no group entity: nothing in these rules depends on a household, and
  openfisca-core runs a person-only system).
- Inputs (one Variable each): ``birth_date`` (ETERNITY, from characters 7-14 of 公民身份号码), and for the
  month of the roster ``hukou_code`` (户籍地区划代码 as an integer; -1 where it is no 6-digit code),
  ``residence`` (城乡类别), ``income_status`` (经济状况), ``ability_grade`` (能力评估等级, -1 empty),
  ``family_planning`` (计生特扶类别), ``tekun_support_mode`` (供养方式), ``disability_grade`` (残疾等级,
  0 empty), ``long_term_care`` (是否需要长期照护), ``death_date`` (死亡日期; empty is 9999-12-31),
  ``eligible_from`` (享受起始月份; empty is 0001-01-01) and ``bank_account_payable`` (the roster's account can be paid into: see run_peer.py).
- Derived: ``age`` (周岁 for the month, on the county's age basis, 次月起: reached on or before the last
  day of the previous month; 29 February birthdays fall on 1 March in common years) and
  ``alive_in_month`` (no death date, or with pay_death_month a death on or after the first day of the
  month: the month of death is paid, 次月停发; and 享受起始月份 empty or on or before the month's last day).
- Per benefit B of the county (low_income_living, low_income_care, family_planning_support,
  high_age_allowance, tekun_support, disability_living, severe_disability_care), four Variables for a
  MONTH:
    * ``B_row``: which row of the benefit's decision table applies (-1: none). A row applies when it is
      in force (its parameters have a value at the month's first day: the start dates are those of
      config/) and the person is alive in the month and meets every condition; at most one row can
      match (the tables are UNIQUE, as the project's loader checks).
    * ``B_monthly_fen``: that row's monthly amount in fen, or -1 when its amount is ``not set`` (a
      parameter whose value is the string "not set", with the reason in its metadata), or for a
      percent row when the standard it is a percent of is not set.
    * ``B_held``: a row applies but nothing is paid: its amount is not set (the engine's
      standard_not_set), or the person has no payable bank account (no_bank_account /
      account_stored_as_number).
    * ``B``: the amount paid for the month, in fen (int32): the row's amount when a row applies, the
      amount is set and the account is payable, else 0. So a benefit whose amount is not set gives 0
      and is counted as held, never paid as 0.

Amounts, age bands, grade lists and start dates are Parameters (parameters/, YAML), each amount with
its citation in its metadata (``reference``) and, for ``not set``, the reason. The categorical
conditions (低保, 特困, 独生子女死亡 ...) are written in the formulas, one per row, beside the
config's ``when:`` they transcribe. Yuan become fen as round(yuan * 100), exact for 2-decimal amounts;
percent rows round half up to the fen, as the engine does.

Not modelled: the ledger (arrears 补发 of earlier months, recoveries, changes), which is not part of one
month's entitlement; see README.md.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.errors import ParameterNotFoundError
from openfisca_core.indexed_enums import Enum
from openfisca_core.periods import ETERNITY, MONTH
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

PARAMETERS = Path(__file__).resolve().parent / "parameters"
NOT_SET = "not set"
NO_DEATH = date(9999, 12, 31)  # an empty 死亡日期
ALWAYS = date(1, 1, 1)  # an empty 享受起始月份

Person = build_entity(
    key="person",
    plural="persons",
    label="A person of the roster (花名册), one row",
    is_person=True,
)


# --- coded inputs ---------------------------------------------------------------------------------


class IncomeStatus(Enum):  # 经济状况, schemas/roster.yaml aliases
    none = "一般"
    dibao = "低保"
    marginal = "低保边缘"
    tekun = "特困"
    unknown = "not a value of the schema (such a row is rejected by the project)"


class Residence(Enum):  # 城乡类别
    urban = "城镇"
    rural = "农村"


class FamilyPlanning(Enum):  # 计生特扶类别; empty and 无 are both `none` (no row tests them)
    none = "无"
    child_deceased = "独生子女死亡"
    child_disabled = "独生子女伤残"


class TekunSupportMode(Enum):  # 供养方式; the mode_not_recorded row tests an empty cell
    not_recorded = "(empty)"
    dispersed = "分散供养"
    centralised = "集中供养"


def _input(name, value_type, label, period=MONTH, **extra):
    attrs = {
        "value_type": value_type,
        "entity": Person,
        "definition_period": period,
        "label": label,
        **extra,
    }
    return type(name, (Variable,), attrs)


INPUTS = [
    _input("birth_date", date, "Date of birth: characters 7-14 of 公民身份号码", period=ETERNITY),
    _input(
        "hukou_code",
        int,
        "户籍地区划代码 (GB/T 2260) as an integer; -1 when it is not 6 digits",
        default_value=-1,
    ),
    _input("residence", Enum, "城乡类别", possible_values=Residence, default_value=Residence.rural),
    _input("income_status", Enum, "经济状况", possible_values=IncomeStatus, default_value=IncomeStatus.none),
    _input("ability_grade", int, "能力评估等级 0-3 (MZ/T 039-2013); -1 when empty", default_value=-1),
    _input(
        "family_planning",
        Enum,
        "计生特扶类别",
        possible_values=FamilyPlanning,
        default_value=FamilyPlanning.none,
    ),
    _input(
        "tekun_support_mode",
        Enum,
        "供养方式",
        possible_values=TekunSupportMode,
        default_value=TekunSupportMode.not_recorded,
    ),
    _input("disability_grade", int, "残疾等级 1-4 (GB/T 26341-2010); 0 when empty", default_value=0),
    _input("long_term_care", bool, "是否需要长期照护: 是", default_value=False),
    _input("death_date", date, "死亡日期; 9999-12-31 when empty", default_value=NO_DEATH),
    _input(
        "eligible_from",
        date,
        "享受起始月份: entitled from this day (a month alone is its first day); 0001-01-01 when empty",
        default_value=ALWAYS,
    ),
    _input(
        "bank_account_payable",
        bool,
        "The account can be paid into (digits only, 8-30 of them, at a named bank, not an Excel number)",
        default_value=False,
    ),
]


# --- derived --------------------------------------------------------------------------------------


def _date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of datetime64[D] values."""
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


class age(Variable):
    value_type = int
    entity = Person
    definition_period = MONTH
    label = "Full years (周岁) for the month, on the county's age basis"
    reference = "RULES.md Age; config/counties/jiaxiang.yaml age_basis"

    def formula(person, period, parameters):
        after_birthday = parameters(period.start).county.age_counted_from_month_after_birthday
        month = period.offset(-1, MONTH) if after_birthday else period
        ref = month.stop.date  # the last day of that month
        year, mon, day = _date_parts(person("birth_date", period))
        not_yet = (mon > ref.month) | ((mon == ref.month) & (day > ref.day))
        return (ref.year - year - not_yet).astype(np.int32)


class alive_in_month(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "Paid for the month as far as the death date (次月停发) and 享受起始月份 go"
    reference = "RULES.md Death; config/counties/jiaxiang.yaml ledger.pay_death_month"

    def formula(person, period, parameters):
        death = person("death_date", period)
        if parameters(period.start).county.pay_death_month:
            alive = death >= np.datetime64(period.start.date)
        else:
            alive = death > np.datetime64(period.stop.date)
        # and entitled from a month no later than this one (享受起始月份), as the engine's entitled_in
        return alive & (person("eligible_from", period) <= np.datetime64(period.stop.date))


# --- the benefits ---------------------------------------------------------------------------------


def _value(node, name):
    """A parameter's value at the node's instant; None when it has none then (the row is not in force)."""
    try:
        return getattr(node, name)
    except (ParameterNotFoundError, AttributeError):
        return None


def _fen(yuan) -> int:
    return round(float(yuan) * 100)


def _half_up(numerator: int, denominator: int) -> int:
    return (numerator * 2 + denominator) // (2 * denominator)


def _row_in_force(table, row):
    try:
        node = getattr(table, row)
    except (ParameterNotFoundError, AttributeError):
        return None
    amount = _value(node, "monthly")
    percent = _value(node, "percent_of_dibao_standard")
    return node if (amount is not None or percent is not None) else None


def _age_band(person, period, node):
    years = person("age", period)
    low, high = _value(node, "age_min"), _value(node, "age_max")
    ok = np.ones(len(years), dtype=bool) if low is None else years >= low
    return ok if high is None else ok & (years <= high)


def _grade_in(values, grades):
    return np.isin(values, np.asarray(list(grades), dtype=values.dtype))


# The conditions of each row besides its age band (config's `when:`), in the order of the YAML files.
def _cond_dibao(person, period, node, params):
    return person("income_status", period) == IncomeStatus.dibao


def _cond_care(person, period, node, params):
    return (person("income_status", period) == IncomeStatus.dibao) & _grade_in(
        person("ability_grade", period), node.ability_grades
    )


def _cond_fp(category):
    def cond(person, period, node, params):
        return person("family_planning", period) == category

    return cond


def _cond_county_hukou(person, period, node, params):
    return person("hukou_code", period) == int(params.county.division_code)


def _cond_tekun(mode):
    def cond(person, period, node, params):
        return (person("income_status", period) == IncomeStatus.tekun) & (
            person("tekun_support_mode", period) == mode
        )

    return cond


def _cond_disability_living(person, period, node, params):
    return (person("income_status", period) == IncomeStatus.dibao) & _grade_in(
        person("disability_grade", period), node.disability_grades
    )


def _cond_severe_care(person, period, node, params):
    return _grade_in(person("disability_grade", period), node.disability_grades) & person(
        "long_term_care", period
    )


BENEFITS: dict[str, dict[str, object]] = {
    "low_income_living": {  # shared/shandong_base.yaml: {income_status: [dibao], age: band}
        "dibao_60_79": _cond_dibao,
        "dibao_80_89": _cond_dibao,
        "dibao_90_99": _cond_dibao,
        "dibao_100_plus": _cond_dibao,
    },
    "low_income_care": {  # {income_status: [dibao], age: {min: 60}, ability_grade: [2, 3]}
        "dibao_grade_2_3": _cond_care,
    },
    "family_planning_support": {  # {family_planning: [child_*], age: {min: 60}}
        "child_deceased": _cond_fp(FamilyPlanning.child_deceased),
        "child_disabled": _cond_fp(FamilyPlanning.child_disabled),
    },
    "high_age_allowance": {  # {hukou_code: {equals: "370829"}, age: band}
        "county_80_89": _cond_county_hukou,
        "county_90_99": _cond_county_hukou,
        "county_100_plus": _cond_county_hukou,
    },
    "tekun_support": {  # {income_status: [特困], age: {min: 60}, tekun_support_mode: ...}
        "dispersed": _cond_tekun(TekunSupportMode.dispersed),
        "centralised": _cond_tekun(TekunSupportMode.centralised),
        "mode_not_recorded": _cond_tekun(TekunSupportMode.not_recorded),
    },
    "disability_living": {  # {income_status: [低保], age: {min: 60}, disability_grade: [一级..四级]}
        "dibao_certified": _cond_disability_living,
    },
    "severe_disability_care": {  # {disability_grade: [一级, 二级], long_term_care: [是], age: {min: 60}}
        "grade_1_2_long_term_care": _cond_severe_care,
    },
}


def _row_fen(params, node, residence: str) -> int:
    """A row's monthly amount in fen for a residence; -1 when it is not set."""
    amount = _value(node, "monthly")
    if amount is not None:
        return -1 if amount == NOT_SET else _fen(amount)
    standard = getattr(params.standards.dibao_standard, residence)
    if standard == NOT_SET:
        return -1
    basis_points = _fen(node.percent_of_dibao_standard)  # 130 % -> 13000 basis points
    return _half_up(_fen(standard) * basis_points, 10000)


def _benefit_variables(benefit: str, rows: dict[str, object]) -> list[type]:
    names = list(rows)

    def row_formula(person, period, parameters):
        params = parameters(period.start)
        table = getattr(params.benefits, benefit)
        alive = person("alive_in_month", period)
        conditions, choices = [], []
        for index, name in enumerate(names):
            node = _row_in_force(table, name)
            if node is None:  # not in force for this month
                continue
            conditions.append(
                alive & _age_band(person, period, node) & rows[name](person, period, node, params)
            )
            choices.append(index)
        if not conditions:
            return np.full(person.count, -1, dtype=np.int32)
        return np.select(conditions, choices, default=-1).astype(np.int32)

    def fen_formula(person, period, parameters):
        params = parameters(period.start)
        table = getattr(params.benefits, benefit)
        row = person(f"{benefit}_row", period)
        urban = person("residence", period) == Residence.urban
        # one lookup table per residence: index -1 (no row) reads the last slot, -1
        by_res = {}
        for residence in ("urban", "rural"):
            fen = [
                _row_fen(params, node, residence) if (node := _row_in_force(table, n)) is not None else -1
                for n in names
            ]
            by_res[residence] = np.asarray([*fen, -1], dtype=np.int32)
        return np.where(urban, by_res["urban"][row], by_res["rural"][row])

    def held_formula(person, period, parameters):
        row = person(f"{benefit}_row", period)
        fen = person(f"{benefit}_monthly_fen", period)
        payable = person("bank_account_payable", period)
        return (row >= 0) & ((fen < 0) | ~payable)

    def paid_formula(person, period, parameters):
        row = person(f"{benefit}_row", period)
        fen = person(f"{benefit}_monthly_fen", period)
        payable = person("bank_account_payable", period)
        return np.where((row >= 0) & (fen >= 0) & payable, fen, 0).astype(np.int32)

    def variable(name, value_type, label, formula, default=None):
        attrs = {
            "value_type": value_type,
            "entity": Person,
            "definition_period": MONTH,
            "label": label,
            "reference": f"parameters/benefits/{benefit}.yaml",
            "formula": formula,
        }
        if default is not None:
            attrs["default_value"] = default
        return type(name, (Variable,), attrs)

    return [
        variable(
            f"{benefit}_row",
            int,
            f"{benefit}: index of the row that applies ({', '.join(names)}); -1 none",
            row_formula,
            -1,
        ),
        variable(
            f"{benefit}_monthly_fen",
            int,
            f"{benefit}: the row's monthly amount in fen; -1 not set",
            fen_formula,
            -1,
        ),
        variable(
            f"{benefit}_held",
            bool,
            f"{benefit}: a row applies but is not paid (not set, or no payable account)",
            held_formula,
        ),
        variable(benefit, int, f"{benefit}: paid for the month, in fen", paid_formula),
    ]


class JiaxiangTaxBenefitSystem(TaxBenefitSystem):
    """Person entity, the roster's inputs, age and death, and four variables per Jiaxiang benefit."""

    def __init__(self) -> None:
        super().__init__([Person])
        self.add_variables(*INPUTS, age, alive_in_month)
        for benefit, rows in BENEFITS.items():
            self.add_variables(*_benefit_variables(benefit, rows))
        self.load_parameters(str(PARAMETERS))


def check_parameters_against_rows() -> None:
    """Every row the formulas know has a parameter node, and every node a formula (fails loudly)."""
    tbs = JiaxiangTaxBenefitSystem()
    for benefit, rows in BENEFITS.items():
        node = getattr(tbs.parameters.benefits, benefit)
        in_yaml = [k for k in node.children if k not in ("description", "metadata")]
        if sorted(in_yaml) != sorted(rows):
            raise SystemExit(f"{benefit}: parameters {sorted(in_yaml)} but formulas {sorted(rows)}")
