"""Synthetic rosters: realistic shares, valid IDs, real township names; never real people.

Vectorized: every random draw is a hash of (row index, seed, draw number), so any size is generated in
a few polars expressions and the same seed always gives the same roster.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from subsidy_batch.period import Period
from subsidy_batch.roster import idnumber


@dataclass(frozen=True)
class Place:
    code: str  # county division code (户籍)
    id_areas: tuple[str, ...]  # area codes seen in IDs, including retired ones (seeds README)
    province_neighbours: tuple[str, ...]  # other division codes of the same province
    townships: tuple[str, ...]
    banks: tuple[str, ...]


PLACES: dict[str, Place] = {
    "jiaxiang": Place(
        "370829",
        ("370829", "370829", "370829", "370882", "372929"),
        ("370811", "370830", "370812"),
        (
            "嘉祥街道",
            "卧龙山街道",
            "纸坊镇",
            "梁宝寺镇",
            "红运镇",
            "万张镇",
            "孟姑集镇",
            "老僧堂镇",
            "黄垓乡",
            "马村镇",
            "金屯镇",
            "大张楼镇",
            "马集镇",
            "仲山镇",
            "满硐镇",
        ),
        ("中国农业银行嘉祥县支行", "嘉祥农村商业银行", "中国邮政储蓄银行嘉祥县支行", "中国工商银行嘉祥支行"),
    ),
    "yanzhou": Place(
        "370812",
        ("370812", "370812", "370812", "370882", "372922"),
        ("370811", "370829", "370883"),
        (
            "鼓楼街道",
            "酒仙桥街道",
            "龙桥街道",
            "兴隆庄街道",
            "大安镇",
            "新驿镇",
            "颜店镇",
            "新兖镇",
            "漕河镇",
            "小孟镇",
        ),
        ("兖州农村商业银行", "中国农业银行兖州支行", "中国邮政储蓄银行兖州区支行", "中国建设银行兖州支行"),
    ),
    "youyi": Place(
        "230522",
        ("230522", "230522", "230522", "230824"),
        ("230502", "230521", "230523", "230524"),
        (
            "友谊镇",
            "兴隆镇",
            "龙山镇",
            "凤岗镇",
            "兴盛乡",
            "东建乡",
            "庆丰乡",
            "建设乡",
            "友邻乡",
            "新镇乡",
            "成富朝鲜族满族乡",
        ),
        ("中国农业银行友谊县支行", "中国邮政储蓄银行友谊县支行", "友谊县农村信用合作联社"),
    ),
    "anqiu": Place(
        "370784",
        ("370784", "370784", "370784", "370722"),
        ("370702", "370781", "370786", "370783"),
        (
            "兴安街道",
            "新安街道",
            "凌河街道",
            "景芝镇",
            "官庄镇",
            "大盛镇",
            "石埠子镇",
            "石堆镇",
            "柘山镇",
            "辉渠镇",
            "吾山镇",
            "金冢子镇",
        ),
        ("安丘农村商业银行", "中国农业银行安丘支行", "中国邮政储蓄银行安丘市支行", "潍坊银行安丘支行"),
    ),
    "caoxian": Place(
        "371721",
        ("371721", "371721", "371721", "372729"),
        ("371702", "371722", "371723", "371728"),
        (
            "曹城街道",
            "磐石街道",
            "青菏街道",
            "郑庄街道",
            "倪集街道",
            "庄寨镇",
            "普连集镇",
            "青固集镇",
            "桃源集镇",
            "韩集镇",
            "砖庙镇",
            "古营集镇",
            "魏湾镇",
            "侯集回族镇",
            "梁堤头镇",
            "常乐集镇",
            "邵庄镇",
            "大集镇",
        ),
        ("曹县农村商业银行", "中国农业银行曹县支行", "中国邮政储蓄银行曹县支行", "菏泽农商银行曹县支行"),
    ),
}

# More real division codes per province, used as ID area codes only when a county's own codes run out of
# sequence numbers (GB 11643 allows 500 people per area code, birth date and sex).
OVERFLOW_AREAS = {
    "37": (
        "370811",
        "370826",
        "370827",
        "370828",
        "370830",
        "370831",
        "370832",
        "370881",
        "370883",
        "370702",
        "370703",
        "370704",
        "370705",
        "370724",
        "370725",
        "370781",
        "370782",
        "370783",
        "370785",
        "370786",
        "371702",
        "371703",
        "371722",
        "371723",
        "371724",
        "371725",
        "371726",
        "371728",
    ),
    "23": (
        "230102",
        "230103",
        "230104",
        "230108",
        "230109",
        "230110",
        "230111",
        "230112",
        "230113",
        "230502",
        "230503",
        "230505",
        "230506",
        "230521",
        "230523",
        "230524",
    ),
}
SLOTS = 500  # sequence numbers per area code, birth date and sex

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
)
GIVEN = "秀英桂兰玉凤淑珍翠华明德金荣庆国建军文芳春梅海霞福贵长山永志忠家宝兴成俊秀云清"

# Cumulative shares (per mille) for each draw; chosen to resemble a county's 60+ population.
AGE_BANDS = ((0, 60, 69), (550, 70, 79), (850, 80, 89), (973, 90, 99), (999, 100, 104))
INCOME = ((0, "一般"), (910, "低保"), (970, "低保边缘"), (990, "特困"))
ABILITY = ((0, ""), (50, "0"), (700, "1"), (850, "2"), (940, "3"))
FAMILY_PLANNING = ((0, ""), (600, "无"), (988, "独生子女死亡"), (994, "独生子女伤残"))
# The optional columns of issue 18 (only with benefit_columns=True): 特困 people's support mode (a few left
# empty, as clerks do), about 6% with a disability certificate (GB/T 26341-2010 grade and category), and
# whether a certified person needs long-term care (most of grades 一级/二级, a few of 三级/四级).
SUPPORT_MODE = ((0, "分散供养"), (600, "集中供养"), (950, ""))
DISABILITY_GRADE = ((0, "一级"), (150, "二级"), (400, "三级"), (700, "四级"))
DISABILITY_CATEGORY = (
    (0, "肢体"),
    (400, "视力"),
    (550, "听力"),
    (750, "言语"),
    (770, "智力"),
    (850, "精神"),
    (930, "多重"),
)


# A draw hashes with the u64 seed * 1000 + k (k < 1000), so a seed must be >= 0 and far below 2**64; 32 bits
# (numpy's legacy range) keep the bound short enough to be shown (12 digits and more are masked as IDs).
MAX_SEED = 2**32 - 1


def _draw(n: int, seed: int, k: int) -> pl.Expr:
    """A uniform integer 0-999 per row, independent for each draw number k."""
    return (pl.int_range(n, dtype=pl.UInt64).hash(seed * 1000 + k) % 1000).cast(pl.Int64)


def _pick(u: pl.Expr, table: tuple[tuple[int, str], ...]) -> pl.Expr:
    expr: pl.Expr = pl.lit(table[0][1])
    for threshold, value in table[1:]:
        expr = pl.when(u >= threshold).then(pl.lit(value)).otherwise(expr)
    return expr


def _choice(u: pl.Expr, values: tuple[str, ...]) -> pl.Expr:
    return pl.lit(pl.Series(values)).get(u % len(values))


def roster(
    county: str, people: int, period: Period, seed: int = 20240501, benefit_columns: bool = False
) -> pl.DataFrame:
    """A roster with Chinese headers; ages, categories and a few boundary cases as a clerk would see them.

    benefit_columns adds the optional 供养方式, 残疾等级, 残疾类别 and 是否需要长期照护 columns (issue 18); without it
    the roster is exactly what earlier versions made (stored runs are built from such rosters).
    """
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed {seed} is out of range; give a --seed from 0 to {MAX_SEED}")
    place = PLACES[county]
    n = people
    first = period.first_day
    band = _draw(n, seed, 1)
    age = pl.lit(AGE_BANDS[0][1]) + _draw(n, seed, 2) % 10
    for threshold, lo, hi in AGE_BANDS[1:]:
        age = pl.when(band >= threshold).then(lo + _draw(n, seed, 2) % (hi - lo + 1)).otherwise(age)
    day_in_year = (_draw(n, seed, 3) * 1000 + _draw(n, seed, 4)) % 365
    birth = (pl.date(pl.lit(first.year) - age, 1, 1) + pl.duration(days=day_in_year)).alias("birth")
    # boundary cases: birthdays in the period's month and on 29 February
    special = _draw(n, seed, 5)
    birth = (
        pl.when(special < 10)
        .then(pl.date(pl.lit(first.year - 80), first.month, 1 + _draw(n, seed, 6) % 28))
        .when(special < 13)
        .then(pl.date(pl.lit(1944) - (_draw(n, seed, 6) % 6) * 4, 2, 29))
        .otherwise(birth)
    )
    area = _choice(_draw(n, seed, 7), place.id_areas)
    frame = pl.select(
        area=area,
        birth=birth,
        sex=_draw(n, seed, 8) % 2,
        hukou_draw=_draw(n, seed, 9),
        other_code=_choice(_draw(n, seed, 10), place.province_neighbours),
        name=_choice(_draw(n, seed, 11), tuple(SURNAMES))
        + _choice(_draw(n, seed, 12), tuple(GIVEN))
        + pl.when(_draw(n, seed, 13) < 700)
        .then(_choice(_draw(n, seed, 14), tuple(GIVEN)))
        .otherwise(pl.lit("")),
        township=_choice(_draw(n, seed, 15), place.townships),
        residence=pl.when(_draw(n, seed, 16) < 350).then(pl.lit("城镇")).otherwise(pl.lit("农村")),
        income=_pick(_draw(n, seed, 17), INCOME),
        ability=_pick(_draw(n, seed, 18), ABILITY),
        fp=_pick(_draw(n, seed, 19), FAMILY_PLANNING),
        death_draw=_draw(n, seed, 20),
        death_day=_draw(n, seed, 21) % 28,
        bank=_choice(_draw(n, seed, 22), place.banks),
        bank_draw=_draw(n, seed, 23),
        account_tail=(pl.int_range(n, dtype=pl.Int64) * 7919 + _draw(n, seed, 24))
        .cast(pl.String)
        .str.zfill(11),
    )
    frame = _unique_sequence(frame, place)
    first_of_month = pl.lit(first)
    out = frame.select(
        (pl.col("first17") + idnumber.check_character(pl.col("first17"))).alias("公民身份号码"),
        pl.col("name").alias("姓名"),
        pl.when(pl.col("hukou_draw") < 940)
        .then(pl.lit(place.code))
        .otherwise(pl.col("other_code"))
        .alias("户籍地区划代码"),
        pl.col("township").alias("乡镇（街道）"),
        pl.col("residence").alias("城乡类别"),
        pl.col("income").alias("经济状况"),
        pl.col("ability").alias("能力评估等级"),
        pl.col("fp").alias("计生特扶类别"),
        # about 1.5% died: half before the period (no payment), half within it (paid, 次月停发)
        pl.when(pl.col("death_draw") < 8)
        .then((first_of_month - pl.duration(days=pl.col("death_day") + 1)).dt.strftime("%Y-%m-%d"))
        .when(pl.col("death_draw") < 15)
        .then((first_of_month + pl.duration(days=pl.col("death_day"))).dt.strftime("%Y-%m-%d"))
        .otherwise(pl.lit(""))
        .alias("死亡日期"),
        pl.col("bank").alias("开户银行"),
        pl.when(pl.col("bank_draw") < 20)
        .then(pl.lit(""))
        .otherwise(pl.lit("62284") + pl.col("account_tail"))
        .alias("银行账号"),
    )
    if not benefit_columns:
        return out
    certified = _draw(n, seed, 26) < 60
    grade = pl.when(certified).then(_pick(_draw(n, seed, 27), DISABILITY_GRADE)).otherwise(pl.lit(""))
    care_share = pl.when(grade.is_in(["一级", "二级"])).then(700).otherwise(200)
    return out.with_columns(
        pl.when(pl.col("经济状况") == "特困")
        .then(_pick(_draw(n, seed, 25), SUPPORT_MODE))
        .otherwise(pl.lit(""))
        .alias("供养方式"),
        grade.alias("残疾等级"),
        pl.when(certified)
        .then(_pick(_draw(n, seed, 28), DISABILITY_CATEGORY))
        .otherwise(pl.lit(""))
        .alias("残疾类别"),
        pl.when(~certified)
        .then(pl.lit(""))
        .when(_draw(n, seed, 29) < care_share)
        .then(pl.lit("是"))
        .otherwise(pl.lit("否"))
        .alias("是否需要长期照护"),
    )


def _unique_sequence(frame: pl.DataFrame, place: Place) -> pl.DataFrame:
    """Give every person a distinct (area, birth date, sequence): odd sequence for men, even for women.

    Whoever is beyond the 500 slots of their area code moves, in order, to the province's further codes.
    """
    overflow_codes = [c for c in OVERFLOW_AREAS[place.code[:2]] if c not in place.id_areas]
    frame = frame.with_columns(rank=pl.int_range(pl.len()).over("area", "birth", "sex"))
    frame = frame.with_columns(
        spill=pl.when(pl.col("rank") >= SLOTS).then(
            pl.int_range(pl.len()).over("birth", "sex", pl.col("rank") >= SLOTS)
        )
    )
    most = frame.get_column("spill").max()
    if most is not None and int(most) // SLOTS >= len(overflow_codes):  # type: ignore[arg-type]
        raise ValueError("too many people for distinct synthetic ID numbers; generate fewer per roster")
    codes = pl.lit(pl.Series(overflow_codes))
    return frame.with_columns(
        area=pl.when(pl.col("spill").is_null())
        .then(pl.col("area"))
        .otherwise(codes.get(pl.col("spill") // SLOTS)),
        seq=pl.coalesce(pl.col("spill") % SLOTS, pl.col("rank")) * 2 + pl.col("sex"),
    ).with_columns(
        first17=pl.col("area")
        + pl.col("birth").dt.strftime("%Y%m%d")
        + pl.col("seq").cast(pl.String).str.zfill(3)
    )


BROKEN_ROWS = (
    # (what goes wrong, column, replacement value); a clerk meets each of these in real exports
    ("Excel rounded the ID", "公民身份号码", "3.70829E+17"),
    ("Excel rounded the ID", "公民身份号码", "370829194405101200"),
    ("unknown income status", "经济状况", "低保户"),
    ("30 February death date", "死亡日期", "2024-02-30"),
    ("death before birth", "死亡日期", "1930-01-01"),
    ("missing name", "姓名", ""),
    ("ability grade out of range", "能力评估等级", "5"),
    ("5-digit hukou code", "户籍地区划代码", "37082"),
)


def with_broken_rows(frame: pl.DataFrame, seed: int = 7) -> pl.DataFrame:
    """Spoil a few rows the way real rosters are spoiled, and duplicate one person, to show rejections."""
    step = max(frame.height // (len(BROKEN_ROWS) + 2), 1)
    row = pl.int_range(pl.len())
    spoiled: dict[str, pl.Expr] = {}
    for i, (_, column, value) in enumerate(BROKEN_ROWS):
        at = (i + 1) * step + seed % step
        spoiled.setdefault(column, pl.col(column))
        spoiled[column] = pl.when(row == at).then(pl.lit(value)).otherwise(spoiled[column])
    ident = pl.col("公民身份号码")
    wrong_check = ident.str.slice(0, 17) + pl.when(ident.str.ends_with("0")).then(pl.lit("1")).otherwise(
        pl.lit("0")
    )
    spoiled["公民身份号码"] = pl.when(row == seed % step).then(wrong_check).otherwise(spoiled["公民身份号码"])
    out = frame.with_columns(**{c: e for c, e in spoiled.items()})
    return pl.concat([out, out.tail(1)])  # the same person twice: both copies are rejected


# (name suffix, kind, ownership, location, beds, area, rating, months, daily users, 中度, 重度, account?)
# Each row exercises one case: eligible ones, every tier boundary, every failed condition.
FACILITY_CASES = (
    ("颐养院", "养老机构", "民办", "城市社区", "120", "3500", "三级", "12", "", "40", "25", True),
    ("康乐养老中心", "养老机构", "公建民营", "农村", "20", "900", "二级", "12", "", "8", "3", True),
    ("福寿院", "养老机构", "民办", "农村", "19", "600", "一级", "12", "", "6", "2", True),
    ("敬老院", "养老机构", "公办", "农村", "80", "2000", "二级", "12", "", "30", "12", True),
    ("夕阳红养老院", "养老机构", "民办", "城市社区", "45", "1200", "", "12", "", "10", "5", True),
    ("安康老年公寓", "养老机构", "民办", "城市社区", "60", "1500", "四级", "12", "", "18", "9", False),
    ("社区日间照料中心", "日间照料中心", "公建民营", "城市社区", "", "320", "三星级", "12", "", "", "", True),
    ("街道日间照料中心", "日间照料中心", "民办", "城市社区", "", "300", "二星级", "6", "", "", "", True),
    ("小区日间照料中心", "日间照料中心", "民办", "城市社区", "", "299.5", "二星级", "12", "", "", "", True),
    ("新建日间照料中心", "日间照料中心", "民办", "城市社区", "", "400", "一星级", "5", "", "", "", True),
    ("村日间照料中心", "日间照料中心", "民办", "农村", "", "350", "一星级", "12", "", "", "", True),
    ("幸福食堂", "助老食堂", "民办", "城市社区", "", "", "", "12", "10", "", "", True),
    ("长者食堂", "助老食堂", "民办", "城市社区", "", "", "", "12", "30", "", "", True),
    ("爱心食堂", "助老食堂", "公建民营", "农村", "", "", "", "12", "31", "", "", True),
    ("邻里食堂", "助老食堂", "民办", "城市社区", "", "", "", "9", "60", "", "", True),
    ("孝善食堂", "助老食堂", "民办", "农村", "", "", "", "12", "61", "", "", True),
    ("百姓食堂", "助老食堂", "民办", "城市社区", "", "", "", "7", "85", "", "", True),
    ("小院食堂", "助老食堂", "民办", "农村", "", "", "", "12", "9", "", "", True),
    ("新开食堂", "助老食堂", "民办", "城市社区", "", "", "", "5", "40", "", "", True),
)


def facility_roster(county: str, year: int) -> pl.DataFrame:
    """A facility roster (Chinese headers) with valid unified social credit codes; no real facilities."""
    from subsidy_batch.roster import creditcode

    place = PLACES[county]
    rows = []
    for i, (
        suffix,
        kind,
        ownership,
        location,
        beds,
        area,
        rating,
        months,
        users,
        moderate,
        severe,
        has_account,
    ) in enumerate(FACILITY_CASES):
        township = place.townships[i % len(place.townships)]
        rows.append(
            {
                "统一社会信用代码": f"52{place.code}MJ{i:07d}",
                "机构名称": f"安丘市{township}{suffix}",
                "机构类型": kind,
                "运营性质": ownership,
                "所在区域": location,
                "床位数": beds,
                "建筑面积（平方米）": area,
                "开业日期": f"{year - 3 + i % 3}-0{1 + i % 9}-15"
                if months == "12"
                else f"{year}-0{13 - int(months)}-01",
                "等级评定结果": rating,
                "年内运营月数": months,
                "日均服务老年人数": users,
                "中度失能人数": moderate,
                "重度失能人数": severe,
                "开户银行": place.banks[i % len(place.banks)],
                "银行账号": f"1560{i:012d}" if has_account else "",
            }
        )
    frame = pl.DataFrame(rows)
    first17 = pl.col("统一社会信用代码").str.slice(0, 17)
    return frame.with_columns((first17 + creditcode.check_character(first17)).alias("统一社会信用代码"))


# A 户籍 extract's 人员状态 for people who left without the roster knowing (per mille of the roster's people)
POPULATION_STATUS = ((0, "迁出"), (500, "注销"))


def population(
    county: str,
    roster_people: int,
    extra_people: int,
    period: Period,
    seed: int = 20240501,
    elderly_extra: int = 20,
) -> pl.DataFrame:
    """A synthetic 户籍 extract (Chinese headers) for the roster `roster(county, roster_people, period, seed)`.

    It holds the roster's people of the county's 户籍 (those of other codes are another county's), except
    2 per mille left out (gone unreported); the dead as 死亡, 3 per mille more as 迁出 or 注销; and
    `extra_people` who are not on the roster, all but `elderly_extra` per mille of them younger (their
    birth 44 years later, so that 29 February stays a date). 3% of the IDs born 19xx are written as
    first-generation 15-digit numbers, and 1 per mille of 出生日期 differ from the ID's by a month.
    """
    place = PLACES[county]
    both = roster(county, roster_people + extra_people, period, seed)
    n = both.height
    ident = pl.col("公民身份号码")
    born = ident.str.slice(6, 8).str.to_date("%Y%m%d")
    on_roster = pl.int_range(n) < roster_people
    younger = ~on_roster & (_draw(n, seed, 41) >= elderly_extra)
    birth = pl.when(younger).then(born.dt.offset_by("44y")).otherwise(born)
    first17 = ident.str.slice(0, 6) + birth.dt.strftime("%Y%m%d") + ident.str.slice(14, 3)
    frame = both.with_columns(
        pl.when(younger)
        .then(first17 + idnumber.check_character(first17))
        .otherwise(ident)
        .alias("公民身份号码"),
        birth.alias("birth"),
        on_roster.alias("on_roster"),
        _draw(n, seed, 42).alias("left"),
        _draw(n, seed, 43).alias("form"),
        _draw(n, seed, 44).alias("status_draw"),
    )
    roster_ids = frame.filter(pl.col("on_roster")).get_column("公民身份号码").implode()
    kept = frame.filter(
        pl.when(pl.col("on_roster"))
        .then((pl.col("户籍地区划代码") == place.code) & (pl.col("left") >= 2))
        .otherwise(~pl.col("公民身份号码").is_in(roster_ids))  # a younger person's new ID may be a roster ID
    )
    ident = pl.col("公民身份号码")
    fifteen = (pl.col("form") < 30) & ident.str.slice(6, 2).eq("19")
    status = (
        pl.when(pl.col("死亡日期") != "")
        .then(pl.lit("死亡"))
        .when(pl.col("on_roster") & (pl.col("status_draw") < 3))
        .then(_pick(_draw(kept.height, seed, 45), POPULATION_STATUS))
        .when(pl.col("status_draw") < 500)
        .then(pl.lit("正常"))
        .otherwise(pl.lit(""))
    )
    shifted = pl.col("form") == 999
    return kept.select(
        pl.when(fifteen)
        .then(ident.str.slice(0, 6) + ident.str.slice(8, 9))
        .otherwise(ident)
        .alias("公民身份号码"),
        pl.col("姓名"),
        pl.lit(place.code).alias("户籍区划代码"),
        pl.when(shifted)
        .then(pl.col("birth").dt.offset_by("1mo"))
        .otherwise(pl.col("birth"))
        .dt.strftime("%Y-%m-%d")
        .alias("出生日期"),
        pl.col("乡镇（街道）").alias("乡镇"),
        status.alias("人员状态"),
    )
