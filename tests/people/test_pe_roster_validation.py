"""Roster validation word for word: the rows a file yields after normalization (grades, classes, phones,
gender, boarding, household flags, short rows, blank rows), every reason a row is refused in English
and in Chinese, naming columns as the file spells them, and every refusal of a header line."""

from __future__ import annotations

import pytest

from chatbot.i18n import use_locale
from chatbot.people.roster import (
    COLUMNS,
    RosterError,
    RosterRow,
    map_headers,
    normalize_class,
    normalize_phone,
    parse_grade,
    parse_household,
    validate,
)

OK = [
    "红星小学",
    "3",
    "1",
    "S001",
    "王小明",
    "男",
    "是",
    "",
    "王建国",
    "13812345678",
    "父亲",
    "李芳",
    "13900002222",
]


def row(**changes: str) -> list[object]:
    values: list[object] = list(OK)
    for column, value in changes.items():
        values[COLUMNS.index(column)] = value
    return values


def klass(value: str) -> dict[str, str]:
    return {"class": value}


def test_valid_rows_come_back_normalized() -> None:
    calls: list[int] = []
    rows = [
        (2, ["红星小学", "三年级", "1", "S001", "王小明", "M", "是", "建档立卡，低保", "王建国",
             "+86 138-1234-5678", "父亲", "李芳", "(0931)1234567"]),
        (3, [""] * 13),  # a blank row is skipped, and the numbering keeps counting
        (4, [" 红星小学 ", "初一", "2班", "S002", "王小红", "female", "走读", "无", "王建国", "13812345678",
             "", "", ""]),
        (5, ["红星小学", "高二", "3", "S003", "马丽", "", "", "orphan/Disabled", "", "", "", "", ""]),
        (6, ["红星小学", "十二年级", "1", 1001.0, "马强", "男", "√", "特困 tekun", None, "", "", "", ""]),
        # A short row: the missing cells are empty. The same pupil with another guardian is fine.
        (7, ["红星小学", "3", "1班", "S001", "王小明", "男", "y", "低保、registered_poor", "刘芳", "13900001111",
             "母亲"]),
    ]  # fmt: skip
    with use_locale("en"):
        parsed = validate(list(COLUMNS), rows, progress=lambda: calls.append(1))
    assert parsed.errors == []
    assert len(calls) == 6
    assert parsed.rows == [
        RosterRow(2, "红星小学", 3, "1班", "S001", "王小明", "男", True, ("registered_poor", "dibao"),
                  "王建国", "13812345678", "父亲", "李芳", "09311234567"),
        RosterRow(4, "红星小学", 7, "2班", "S002", "王小红", "女", False, (), "王建国", "13812345678", "", "", ""),
        RosterRow(5, "红星小学", 11, "3班", "S003", "马丽", "", False, ("orphan", "disabled"), "", "", "", "", ""),
        RosterRow(6, "红星小学", 12, "1班", "1001", "马强", "男", True, ("tekun",), "", "", "", "", ""),
        RosterRow(7, "红星小学", 3, "1班", "S001", "王小明", "男", True, ("registered_poor", "dibao"),
                  "刘芳", "13900001111", "母亲", "", ""),
    ]  # fmt: skip


BAD_ROWS = [
    (2, OK),
    (3, row(student_no="110101200501011234", student_name="G110101200501011234")),
    (4, row(school="", grade="", student_no="", student_name="", **klass(""))),
    (5, row(student_no="S005", grade="13")),
    (6, row(student_no="S006", grade="初四")),
    (7, row(school="校" * 201, student_no="N" * 33, student_name="名" * 101, **klass("班" * 65))),
    (8, row(student_no="S008", gender="x", boarding="maybe", household="低保 rich 孤儿")),
    (9, row(student_no="S009", guardian_phone="", class_teacher_name="")),
    (10, row(student_no="S010", guardian_name="", class_teacher_phone="12345")),
    (11, row(student_no="S011", guardian_name="王" * 101, guardian_relation="关" * 33)),
    (12, row(student_name="王小红")),
    (13, OK),
    (14, row(student_no="S014", class_teacher_name="张老师", class_teacher_phone="13700003333")),
    # Every length exactly at its limit is fine.
    (15, row(school="校" * 200, student_no="N" * 32, student_name="名" * 100, guardian_name="王" * 100,
             guardian_relation="关" * 32, **klass("班" * 64))),
]  # fmt: skip

ID_REASON = (
    "holds an identity-card number, which must never be stored: use the school's own student number instead"
)


def test_every_reason_a_row_is_refused() -> None:
    with use_locale("en"):
        parsed = validate(list(COLUMNS), BAD_ROWS)
        errors = [str(e) for e in parsed.errors]
    assert [r.line for r in parsed.rows] == [2, 15]
    assert errors == [
        f"row 3: student_no {ID_REASON}",
        f"row 3: student_name {ID_REASON}",
        "row 4: school is empty",
        "row 4: grade is empty",
        "row 4: class is empty",
        "row 4: student_no is empty",
        "row 4: student_name is empty",
        "row 5: grade '13' is not a grade from 1 to 12",
        "row 6: grade '初四' is not a grade from 1 to 12",
        "row 7: school is longer than 200 characters",
        "row 7: class is longer than 64 characters",
        "row 7: student_no is longer than 32 characters",
        "row 7: student_name is longer than 100 characters",
        "row 8: gender 'x' is not 男 or 女",
        "row 8: boarding 'maybe' is not 是 or 否",
        "row 8: household flag 'rich' is unknown (use registered_poor, dibao, tekun, orphan, disabled)",
        "row 9: guardian_phone is empty",
        "row 9: class_teacher_name is empty",
        "row 10: guardian_name is empty",
        "row 10: class_teacher_phone '12345' is not a phone number",
        "row 11: guardian_name is longer than 100 characters",
        "row 11: guardian_relation is longer than 32 characters",
        "row 12: student number S001 is already used by row 2 for different pupil data",
        "row 13: row 2 already lists this pupil with this guardian",
        "row 14: row 2 names another class teacher for this class",
    ]
    assert [(e.line, e.reason) for e in parsed.errors][:2] == [
        (3, f"student_no {ID_REASON}"),
        (3, f"student_name {ID_REASON}"),
    ]


CHINESE_SPELLED = ["\ufeff学校", "年級", " 班 ", "學籍號", "姓名", "性別", "寄宿", "家庭類型", "監護人", "聯繫電話", "關係",
                   "班主任", "班主任電話"]  # fmt: skip


def test_reasons_name_columns_as_the_file_spells_them() -> None:
    rows = [
        (2, row(student_no="110101200501011234", student_name="")),
        (
            3,
            row(student_no="S3", guardian_phone="", class_teacher_phone="12345", guardian_relation="关" * 33),
        ),
    ]
    with use_locale("en"):
        english = [str(e) for e in validate(CHINESE_SPELLED, rows).errors]
    with use_locale("zh_Hans"):
        chinese = [str(e) for e in validate(CHINESE_SPELLED, rows).errors]
    assert english == [
        f"row 2: 學籍號 {ID_REASON}",
        "row 2: 姓名 is empty",
        "row 3: 聯繫電話 is empty",
        "row 3: 班主任電話 '12345' is not a phone number",
        "row 3: 關係 is longer than 32 characters",
    ]
    assert chinese == [
        "第 2 行：學籍號 含有身份证号，身份证号绝不能保存：请改用学校自己的学号",
        "第 2 行：姓名 为空",
        "第 3 行：聯繫電話 为空",
        "第 3 行：班主任電話 '12345' 不是电话号码",
        "第 3 行：關係 超过 32 个字符",
    ]


@pytest.mark.parametrize(
    ("headers", "english", "chinese"),
    [
        (["学校", "年级", "身份证号"],
         "Column '身份证号' looks like identity-card numbers. They must never be stored: delete that column "
         "and import again.",
         "列 '身份证号' 看起来是身份证号。身份证号绝不能保存：请删除这一列后重新导入。"),
        (["school", "ID No"],
         "Column 'ID No' looks like identity-card numbers. They must never be stored: delete that column and "
         "import again.",
         "列 'ID No' 看起来是身份证号。身份证号绝不能保存：请删除这一列后重新导入。"),
        (["school", "id_card"],
         "Column 'id_card' looks like identity-card numbers. They must never be stored: delete that column "
         "and import again.",
         "列 'id_card' 看起来是身份证号。身份证号绝不能保存：请删除这一列后重新导入。"),
        (["Student Name", "student_name"], "Column 'student_name' appears twice.", "列 'student_name' 出现了两次。"),
        (["school", "grade", "nonsense"], "Unknown column 'nonsense'.", "无法识别的列 'nonsense'。"),
        (["school", "", "grade"], "Missing columns: class, student_no, student_name.",
         "缺少列：class, student_no, student_name。"),
        (["班级", "学号"], "Missing columns: school, grade, student_name.", "缺少列：school, grade, student_name。"),
    ],
)  # fmt: skip
def test_header_refusals(headers: list[str], english: str, chinese: str) -> None:
    messages = []
    for locale in ("en", "zh_Hans"):
        with use_locale(locale), pytest.raises(RosterError) as caught:
            map_headers(headers)
        messages.append(str(caught.value))
    assert messages == [english, chinese]


def test_headers_map_in_any_case_spacing_and_script() -> None:
    assert map_headers([" School ", "GRADE", "Class", "student no", "姓名", ""]) == {
        "school": 0,
        "grade": 1,
        "class": 2,
        "student_no": 3,
        "student_name": 4,
    }
    assert map_headers(CHINESE_SPELLED) == {name: index for index, name in enumerate(COLUMNS)}


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("1", 1), (" 5 ", 5), ("12", 12), ("0", None), ("13", None), ("3年级", 3), ("3年級", 3), ("三 年级", 3),
        ("十", 10), ("十一", 11), ("十二", 12), ("十三", None), ("初一", 7), ("初3", 9), ("初0", None), ("初四", None),
        ("高1", 10), ("高三", 12), ("高4", None), ("高十一", None), ("初", None), ("abc", None), ("１", 1),
    ],
)  # fmt: skip
def test_grades(text: str, grade: int | None) -> None:
    assert parse_grade(text) == grade


def test_classes_and_phones() -> None:
    assert [normalize_class(v) for v in ("1", " 02 ", "1班", "火箭班")] == ["1班", "2班", "1班", "火箭班"]
    assert [
        normalize_phone(v)
        for v in ("+86 (138) 1234-5678", "（0931）1234567", "+8613812345678", "138 1234 5678", "86138")
    ] == ["13812345678", "09311234567", "13812345678", "13812345678", "86138"]


def test_households() -> None:
    assert [
        parse_household(v) for v in ("None", "NONE", " 无 ", "无、-", "DiBao", "Orphan，低保户", "孤儿 x")
    ] == [
        ((), None),
        ((), None),
        ((), None),
        ((), None),
        (("dibao",), None),
        (("dibao", "orphan"), None),
        ((), "x"),
    ]
