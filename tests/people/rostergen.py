"""Generated rosters for tests and benchmarks: realistic Chinese names, phones, flags, several schools."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from chatbot.people.roster import COLUMNS

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "明华丽强芳军静敏伟磊洋勇艳杰娟涛超秀霞平刚桂英玉兰萍红梅鹏飞宇浩然轩雨欣涵诺佳怡思远嘉豪"
HOUSEHOLD = ("", "", "", "", "建档立卡", "低保", "registered_poor,disabled", "特困", "孤儿")


def roster_rows(pupils: int, seed: int = 7, schools: int = 3, class_size: int = 42) -> list[list[str]]:
    """`pupils` rows spread over `schools` schools (grades 1–9), one guardian per pupil, siblings sharing one."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    family_phone = ""
    family_name = ""
    for index in range(pupils):
        school = index % schools
        class_index = index // (schools * class_size)
        grade = class_index % 9 + 1
        klass = f"{class_index // 9 + 1}班"
        surname = rng.choice(SURNAMES)
        # Every 10th pupil is the younger sibling of the previous one: same guardian, same phone.
        if index % 10 != 9 or not family_phone:
            family_phone = f"15{index:09d}"
            family_name = surname + rng.choice(GIVEN) + rng.choice(GIVEN)
        rows.append(
            [
                f"第{school + 1}中心学校",
                str(grade),
                klass,
                f"S{index:06d}",
                surname + "".join(rng.sample(GIVEN, 2)),
                rng.choice(("男", "女")),
                rng.choice(("是", "否")),
                rng.choice(HOUSEHOLD),
                family_name,
                family_phone,
                rng.choice(("父亲", "母亲", "爷爷", "奶奶")),
                f"T{school}{grade}{klass}",
                f"1880{school}{grade}{class_index // 9 + 1:05d}",
            ]
        )
    return rows


def write_csv(
    path: Path, rows: list[list[str]], encoding: str = "utf-8-sig", headers: list[str] | None = None
) -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(headers or list(COLUMNS))
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[str]], headers: list[str] | None = None) -> Path:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("roster")
    sheet.append(headers or list(COLUMNS))
    for row in rows:
        # Excel stores numbers as numbers: the grade and phones come back as int/float cells.
        sheet.append([int(v) if v.isdigit() and len(v) < 16 else v for v in row])
    workbook.save(path)
    return path
