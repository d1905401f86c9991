"""The people subcommands of `bot.py` (migrate, demo, console, import-roster, roster-template, invites)
and the bare `bot.py`, run in-process through `chatbot.cli.main` with a fixed process clock: their exact
Chinese help, their exact outputs and exit codes, the console driven by scripted standard input, and
what they leave in the database."""

from __future__ import annotations

import io
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, inspect, select

from chatbot.app import App
from chatbot.cli import main, resolve_console_person
from chatbot.i18n import use_locale
from chatbot.people.demo import DEMO_PARENT_NAME
from db.models import AuditLog, ChannelIdentity, InviteCode, Person, Region, Student
from db.session import make_engine
from tests.conftest import DemoPeople
from tests.people.cli_run import OWN_SETTINGS, Result


class Cli:
    """`bot.py ARGS` in this process, on one database, with the test's clock and scripted stdin."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], now: datetime):
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.now = now

    def use(self, database_url: str, **env: str) -> Cli:
        self.monkeypatch.setenv("DATABASE_URL", database_url)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        return self

    def __call__(self, *argv: str, stdin: str | io.StringIO = "") -> Result:
        stream = stdin if isinstance(stdin, io.StringIO) else Stdin(stdin)
        self.monkeypatch.setattr(sys, "stdin", stream)
        with use_locale("zh_Hans"):  # main sets the locale itself; this only keeps tests apart
            code = main(list(argv), clock=lambda: self.now)
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def help(self, *argv: str) -> str:
        with pytest.raises(SystemExit) as exit_info:
            self(*argv, "--help")
        assert exit_info.value.code == 0
        out, err = self.capsys.readouterr()
        assert err == ""
        return out


class Stdin(io.StringIO):
    """A piped standard input that fails loudly if read again after it said end-of-file."""

    def __init__(self, text: str, tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty
        self.eof_reads = 0

    def isatty(self) -> bool:
        return self.tty

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        line = super().readline(-1 if size is None else size)
        if line == "":
            self.eof_reads += 1
            assert self.eof_reads == 1, "standard input read again after end-of-file"
        return line


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, now: datetime
) -> Cli:
    monkeypatch.chdir(tmp_path)  # no .env from the checkout; data/console.log lands here
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "120")  # argparse wraps help at the terminal's width
    for name in OWN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return Cli(monkeypatch, capsys, now)


# --- help ---------------------------------------------------------------------------------------

PEOPLE_COMMANDS_ZH = (
    "  COMMAND\n"
    "    migrate        创建或升级数据库结构（Alembic）。\n"
    "    demo           创建演示县的数据（可重复运行）。\n"
    "    console        在终端里以演示人员的身份聊天。\n"
    "    import-roster  导入或更新学生、监护人和教师。\n"
    "    roster-template\n"
    "                   生成一份待填写的空白名册文件。\n"
    "    invites        为每位监护人和教师生成一个新的邀请码。\n"
)
PEOPLE_COMMANDS_EN = (
    "  COMMAND\n"
    "    migrate        Create or upgrade the database schema (Alembic).\n"
    "    demo           Seed the demo county (idempotent).\n"
    "    console        Chat in the terminal as a demo person.\n"
    "    import-roster  Import or update pupils, guardians and teachers.\n"
    "    roster-template\n"
    "                   Write an empty roster file to fill in.\n"
    "    invites        Write one new invite code per guardian and teacher.\n"
)


def test_the_top_level_help_lists_the_people_commands_first(cli: Cli, app: App) -> None:
    cli.use(app.settings.database_url)
    assert PEOPLE_COMMANDS_ZH in cli.help()
    cli.use(app.settings.database_url, DEFAULT_LOCALE="en")
    assert PEOPLE_COMMANDS_EN in cli.help()


HELP_ZH = {
    "migrate": (
        "用法：bot.py migrate [-h]\n"
        "\n"
        "创建或升级数据库结构（Alembic）。\n"
        "\n"
        "选项:\n"
        "  -h, --help  显示本帮助信息并退出\n"
    ),
    "demo": (
        "用法：bot.py demo [-h]\n"
        "\n"
        "创建演示县的数据（可重复运行）。\n"
        "\n"
        "选项:\n"
        "  -h, --help  显示本帮助信息并退出\n"
    ),
    "console": (
        "用法：bot.py console [-h] [--as AS_WHO]\n"
        "\n"
        "在终端里以演示人员的身份聊天。\n"
        "\n"
        "选项:\n"
        "  -h, --help   显示本帮助信息并退出\n"
        "  --as AS_WHO  parent（家长）、teacher（教师）、principal（校长）、admin（管理员）、人员编号，"
        "或 guest（未绑定的用户）\n"
    ),
    "import-roster": (
        "用法：bot.py import-roster [-h] [--region REGION] [--progress | --no-progress] FILE\n"
        "\n"
        "导入或更新学生、监护人和教师。\n"
        "\n"
        "位置参数:\n"
        "  FILE                  .csv（UTF-8 或 GB18030 编码）或 .xlsx；见 docs/people.md\n"
        "\n"
        "选项:\n"
        "  -h, --help            显示本帮助信息并退出\n"
        "  --region REGION       地区代码；不存在时自动创建（默认：唯一的地区）\n"
        "  --progress, --no-progress\n"
        "                        显示进度条\n"
    ),
    "roster-template": (
        "用法：bot.py roster-template [-h] [--english] FILE\n"
        "\n"
        "生成一份待填写的空白名册文件。\n"
        "\n"
        "位置参数:\n"
        "  FILE        .xlsx（推荐）或 .csv\n"
        "\n"
        "选项:\n"
        "  -h, --help  显示本帮助信息并退出\n"
        "  --english   列名用英文而不是中文\n"
    ),
    "invites": (
        "用法：bot.py invites [-h] --school SCHOOL --out OUT [--role {guardians,teachers,all}] [--unlinked]\n"
        "\n"
        "为每位监护人和教师生成一个新的邀请码。\n"
        "\n"
        "选项:\n"
        "  -h, --help            显示本帮助信息并退出\n"
        "  --school SCHOOL       学校名称\n"
        "  --out OUT             要写入的 CSV 文件\n"
        "  --role {guardians,teachers,all}\n"
        "  --unlinked            只包括尚未使用机器人的人（补印遗失的邀请条）\n"
    ),
}


@pytest.mark.parametrize("command", list(HELP_ZH))
def test_each_people_command_has_its_chinese_help(command: str, cli: Cli, app: App) -> None:
    assert cli.use(app.settings.database_url).help(command) == HELP_ZH[command]


def test_the_console_help_in_english(cli: Cli, app: App) -> None:
    assert cli.use(app.settings.database_url, DEFAULT_LOCALE="en").help("console") == (
        "usage: bot.py console [-h] [--as AS_WHO]\n"
        "\n"
        "Chat in the terminal as a demo person.\n"
        "\n"
        "options:\n"
        "  -h, --help   show this help message and exit\n"
        "  --as AS_WHO  parent, teacher, principal, admin, a person id, or guest (an unlinked user)\n"
    )


# --- migrate and demo ---------------------------------------------------------------------------


def test_migrate_creates_the_schema_of_a_new_database(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert cli.use(url)("migrate") == Result(0, "数据库已是最新。\n", "")
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"alembic_version", "person", "invite_code", "channel_identity", "region"} <= tables
    assert cli.use(url, DEFAULT_LOCALE="en")("migrate") == Result(0, "Database is up to date.\n", "")


def test_demo_seeds_the_county_once_at_the_process_clock(cli: Cli, empty_app: App, now: datetime) -> None:
    cli.use(empty_app.settings.database_url)
    assert cli("demo") == Result(0, "演示县数据已创建。\n", "")
    with empty_app.session_factory() as s:
        parent = s.scalars(select(Person).where(Person.name == DEMO_PARENT_NAME)).one()
        assert parent.created_at == now
        assert s.scalar(select(func.count()).select_from(Region)) == 1
        pupils = s.scalar(select(func.count()).select_from(Student))
    assert cli("demo") == Result(0, "演示县数据已存在，未做更改。\n", "")
    cli.use(empty_app.settings.database_url, DEFAULT_LOCALE="en")
    assert cli("demo") == Result(0, "Demo county already exists; nothing changed.\n", "")
    with empty_app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Region)) == 1
        assert s.scalar(select(func.count()).select_from(Student)) == pupils


def test_demo_in_english(cli: Cli, empty_app: App) -> None:
    cli.use(empty_app.settings.database_url, DEFAULT_LOCALE="en")
    assert cli("demo") == Result(0, "Demo county created.\n", "")


# --- console ------------------------------------------------------------------------------------

PARENT_SCRIPT = "/whoami\n/language\n3\n/whoami\n"
PARENT_TRANSCRIPT = (
    "> /whoami\n"
    "您已绑定为 王建国。\n"
    "• 潘佳涵 的家长（红星小学 3年级1班）\n"
    "• 郭轩 的家长（东乡第一初级中学 7年级1班）\n"
    "语言：简体中文\n"
    "> /language\n"
    "请选择语言：\n"
    "  1. 简体中文\n"
    "  2. 繁體中文\n"
    "  3. English\n"
    "> 3\n"
    "Language set to English.\n"
    "> /whoami\n"
    "You are linked as 王建国.\n"
    "• guardian of 潘佳涵 (红星小学 Grade 3 1班)\n"
    "• guardian of 郭轩 (东乡第一初级中学 Grade 7 1班)\n"
    "Language: English\n"
)


def _console_identities(app: App) -> list[tuple[str, int | None, datetime, str | None]]:
    with app.session_factory() as s:
        return [
            (i.external_id, i.person_id, i.created_at, i.locale)
            for i in s.scalars(
                select(ChannelIdentity)
                .where(ChannelIdentity.channel == "console")
                .order_by(ChannelIdentity.id)
            )
        ]


def test_console_as_the_demo_parent_by_default(
    cli: Cli, app: App, demo: DemoPeople, now: datetime, tmp_path: Path
) -> None:
    result = cli.use(app.settings.database_url)("console", stdin=PARENT_SCRIPT)
    assert result == Result(0, PARENT_TRANSCRIPT, "")
    # The chat ran as the demo parent, on the process clock, and the log went to data/console.log.
    assert _console_identities(app) == [(f"person-{demo.parent}", demo.parent, now, "en")]
    assert (tmp_path / "data" / "console.log").is_file()


def test_console_log_goes_to_the_configured_log_file(cli: Cli, app: App, tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "bot.log"
    cli.use(app.settings.database_url, LOG_FILE=str(log_file))
    result = cli("console", "--as", "teacher", stdin="/whoami\n")
    assert result.code == 0 and result.err == ""
    assert log_file.is_file()
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("who", "reply"),
    [
        ("teacher", "您已绑定为 李芳。\n• 班主任：红星小学 3年级1班\n语言：简体中文\n"),
        ("principal", "您已绑定为 张校长。\n• 校长：红星小学\n语言：简体中文\n"),
        ("admin", "您已绑定为 马局长。\n• 县教育局管理员：临夏县(演示)\n语言：简体中文\n"),
        ("parent", "您已绑定为 王建国。\n• 潘佳涵 的家长（红星小学 3年级1班）\n"
         "• 郭轩 的家长（东乡第一初级中学 7年级1班）\n语言：简体中文\n"),
    ],
)  # fmt: skip
def test_console_as_a_role_or_a_person_id(
    who: str, reply: str, cli: Cli, app: App, demo: DemoPeople, now: datetime
) -> None:
    cli.use(app.settings.database_url)
    assert cli("console", "--as", who, stdin="/whoami\n") == Result(0, "> /whoami\n" + reply, "")
    person_id = demo.ids[who]
    # The same person by number: the same identity, the same answer.
    assert cli("console", "--as", str(person_id), stdin="/whoami\n") == Result(0, "> /whoami\n" + reply, "")
    assert _console_identities(app) == [(f"person-{person_id}", person_id, now, None)]


def test_console_as_a_guest_is_an_unlinked_chat(cli: Cli, app: App, now: datetime) -> None:
    result = cli.use(app.settings.database_url)("console", "--as", "guest", stdin="/whoami\n/start\n")
    assert result == Result(
        0,
        "> /whoami\n"
        "此聊天还没有绑定任何人。请发送 /start 和邀请码。\n"
        "> /start\n"
        "欢迎使用家校。请发送学校给您的 8 位邀请码（例如 K7MX4QPA）。不绑定也可以发送 /aid 咨询学生资助。\n",
        "",
    )
    assert _console_identities(app) == [("guest", None, now, None)]


@pytest.mark.parametrize("who", ["99999", "nobody", "Guest", "PARENT", ""])
def test_console_refuses_an_unknown_person(who: str, cli: Cli, app: App) -> None:
    result = cli.use(app.settings.database_url)("console", "--as", who, stdin="/whoami\n")
    assert result == Result(
        2, "", f"未知的人员 {who!r}：请使用 parent、teacher、principal、admin、guest 或人员编号。\n"
    )
    assert _console_identities(app) == []


def test_console_refusal_in_english(cli: Cli, app: App) -> None:
    cli.use(app.settings.database_url, DEFAULT_LOCALE="en")
    assert cli("console", "--as", "x1", stdin="/whoami\n") == Result(
        2, "", "Unknown person 'x1': use parent, teacher, principal, admin, guest or a person id.\n"
    )


def test_console_on_a_terminal_shows_the_banner_and_prompts_without_echo(cli: Cli, app: App) -> None:
    cli.use(app.settings.database_url)
    result = cli("console", "--as", "teacher", stdin=Stdin("/whoami\n", tty=True))
    assert result == Result(
        0,
        "家校 控制台。输入 /help 查看命令，按 Ctrl-D 退出。\n"
        "> 您已绑定为 李芳。\n• 班主任：红星小学 3年级1班\n语言：简体中文\n"
        "> ",
        "",
    )


def test_console_with_no_input_says_nothing(cli: Cli, app: App) -> None:
    assert cli.use(app.settings.database_url)("console", stdin="") == Result(0, "", "")


def test_console_seeds_an_empty_database_first(cli: Cli, empty_app: App, now: datetime) -> None:
    result = cli.use(empty_app.settings.database_url)("console", stdin="/whoami\n")
    assert result.code == 0 and result.err == ""
    assert result.out.startswith("> /whoami\n您已绑定为 王建国。\n")
    with empty_app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Region)) == 1
        parent = s.scalars(select(Person).where(Person.name == DEMO_PARENT_NAME)).one()
        assert parent.created_at == now


def test_console_leaves_a_database_with_a_region_unseeded(cli: Cli, empty_app: App, now: datetime) -> None:
    with empty_app.session_factory() as s, s.begin():
        s.add(Region(code="own-county", name="自己的县"))
    cli.use(empty_app.settings.database_url)
    assert cli("console", "--as", "guest", stdin="/whoami\n").out == (
        "> /whoami\n此聊天还没有绑定任何人。请发送 /start 和邀请码。\n"
    )
    assert cli("console", stdin="/whoami\n") == Result(
        2, "", "未知的人员 'parent'：请使用 parent、teacher、principal、admin、guest 或人员编号。\n"
    )
    with empty_app.session_factory() as s:
        assert list(s.scalars(select(Region.code))) == ["own-county"]
        assert s.scalar(select(func.count()).select_from(Person)) == 0


def test_resolve_console_person_choices(app: App, demo: DemoPeople) -> None:
    assert resolve_console_person(app, "guest") == "guest"
    for role in ("parent", "teacher", "principal", "admin"):
        assert resolve_console_person(app, role) == demo.ids[role]
        assert resolve_console_person(app, str(demo.ids[role])) == demo.ids[role]
    for unknown in ("99999", "0", "nobody", "GUEST", "Parent", "-1", ""):
        assert resolve_console_person(app, unknown) is None


# --- the bare `bot.py` --------------------------------------------------------------------------


def test_bare_bot_py_is_the_console_as_the_demo_parent(cli: Cli, app: App, demo: DemoPeople) -> None:
    assert cli.use(app.settings.database_url)(stdin=PARENT_SCRIPT) == Result(0, PARENT_TRANSCRIPT, "")
    assert [row[:2] for row in _console_identities(app)] == [(f"person-{demo.parent}", demo.parent)]


@pytest.mark.parametrize("token", ["TELEGRAM_TOKEN", "WECHAT_TOKEN"])
def test_bare_bot_py_runs_the_channels_when_a_token_is_set(
    token: str, cli: Cli, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[object] = []

    def run_channels(running: App) -> int:
        started.append(running)
        return 7

    monkeypatch.setattr("chatbot.channels.cli.run_channels", run_channels)
    cli.use(app.settings.database_url, **{token: "secret-token"})
    assert cli(stdin="/whoami\n") == Result(7, "", "")
    assert len(started) == 1
    running = started[0]
    assert isinstance(running, App)
    assert running.settings.database_url == app.settings.database_url
    assert _console_identities(app) == []


# --- roster template and import -----------------------------------------------------------------

CHINESE_HEADERS = [
    "学校", "年级", "班级", "学号", "学生姓名", "性别", "是否住校", "家庭情况",
    "监护人姓名", "监护人电话", "与学生关系", "班主任姓名", "班主任电话",
]  # fmt: skip
ENGLISH_HEADERS = [
    "school", "grade", "class", "student_no", "student_name", "gender", "boarding", "household",
    "guardian_name", "guardian_phone", "guardian_relation", "class_teacher_name", "class_teacher_phone",
]  # fmt: skip
EXAMPLE = [
    "示例（此行不会导入）红旗小学", "3", "1班", "0301001", "马小花", "女", "是", "建档立卡、低保",
    "马大山", "13800001111", "父亲", "李老师", "13900002222",
]  # fmt: skip


def _sheet(path: Path) -> tuple[list[str], list[list[object]]]:
    workbook = load_workbook(path)
    try:
        names = workbook.sheetnames
        # The text format reaches row 2000, so openpyxl reads those rows back as empty ones.
        rows = [list(row) for row in workbook[names[0]].iter_rows(values_only=True) if any(row)]
        formats = {workbook[names[0]][cell].number_format for cell in ("D2", "J2", "M2", "D2000")}
    finally:
        workbook.close()
    assert formats == {"@"}  # 学号 and phones are text, so leading zeros survive
    return names, rows


@pytest.mark.parametrize(("english", "headers"), [(False, CHINESE_HEADERS), (True, ENGLISH_HEADERS)])
def test_roster_template_workbook(
    english: bool, headers: list[str], cli: Cli, empty_app: App, tmp_path: Path
) -> None:
    cli.use(empty_app.settings.database_url)
    argv = ["roster-template", "名册.xlsx"] + (["--english"] if english else [])
    assert cli(*argv) == Result(0, "花名册模板已写入 名册.xlsx。\n", "")
    names, rows = _sheet(tmp_path / "名册.xlsx")
    assert names == ["Sheet"]
    assert rows == [headers, EXAMPLE]


def test_roster_template_csv_in_english(cli: Cli, empty_app: App, tmp_path: Path) -> None:
    cli.use(empty_app.settings.database_url, DEFAULT_LOCALE="en")
    assert cli("roster-template", "--english", "r.csv") == Result(
        0, "Roster template written to r.csv.\n", ""
    )
    assert (tmp_path / "r.csv").read_text("utf-8-sig").splitlines() == [
        ",".join(ENGLISH_HEADERS),
        ",".join(EXAMPLE),
    ]


def test_roster_template_refuses_other_file_types_and_unwritable_paths(
    cli: Cli, empty_app: App, tmp_path: Path
) -> None:
    cli.use(empty_app.settings.database_url)
    assert cli("roster-template", "r.txt") == Result(2, "", "不支持 .txt 文件：请使用 .csv 或 .xlsx。\n")
    assert cli("roster-template", "missing/r.xlsx") == Result(
        2, "", "无法写入 missing/r.xlsx：No such file or directory\n"
    )
    assert cli("roster-template", "missing/r.csv") == Result(
        2, "", "无法写入 missing/r.csv：No such file or directory\n"
    )
    cli.use(empty_app.settings.database_url, DEFAULT_LOCALE="en")
    assert cli("roster-template", "missing/r.xlsx") == Result(
        2, "", "Cannot write missing/r.xlsx: No such file or directory\n"
    )
    assert list(tmp_path.iterdir()) == []


DONE = re.compile(r"用时 \d+\.\d 秒。")


def test_import_roster_of_a_filled_template(cli: Cli, empty_app: App) -> None:
    """A pupil filled in below the template's example: the example is skipped and said so; --region
    names the region, --no-progress keeps stderr clean."""
    cli.use(empty_app.settings.database_url)
    assert cli("roster-template", "r.xlsx").code == 0
    workbook = openpyxl.load_workbook("r.xlsx")
    pupil = [
        "红旗小学",
        "3",
        "1班",
        "0301002",
        "马小草",
        "女",
        "否",
        "",
        "马大海",
        "13800001112",
        "母亲",
        "李老师",
        "13900002222",
    ]
    workbook.active.append(pupil)
    workbook.save("r.xlsx")
    result = cli("import-roster", "r.xlsx", "--region", "test-county", "--no-progress")
    assert result.code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith(
        "共 1 行：新增学生 1 名，更新 0 名，未变 0 名；新增学校 1 所、班级 1 个；新增人员 2 人，更新 0 人；"
        "新增监护关系 1 条，删除 0 条；班主任变动 1 处。"
    )
    assert "模板中的示例行（第 2 行）已跳过，没有导入。" in result.out
    assert DONE.fullmatch(lines[-1])
    with empty_app.session_factory() as s:
        assert list(s.scalars(select(Region.code))) == ["test-county"]
        assert list(s.scalars(select(Student.student_no))) == ["0301002"]
    again = cli("import-roster", "r.xlsx", "--progress")  # the only region is the default
    assert again.code == 0
    assert "检查" in again.err and "100%" in again.err  # the bar, on stderr only
    assert again.out.startswith("共 1 行：新增学生 0 名，更新 0 名，未变 1 名；")


# --- invites ------------------------------------------------------------------------------------


def _invite_exports(app: App) -> list[tuple[datetime, str | None, dict[str, object] | None]]:
    with app.session_factory() as s:
        return [
            (a.at, a.target, a.details)
            for a in s.scalars(
                select(AuditLog).where(AuditLog.action == "invites.export").order_by(AuditLog.id)
            )
        ]


def test_invites_for_everyone_then_for_unlinked_teachers(
    cli: Cli, app: App, now: datetime, tmp_path: Path
) -> None:
    cli.use(app.settings.database_url)
    assert cli("invites", "--school", "东乡第一初级中学", "--out", "all.csv") == Result(
        0, "已将 120 个邀请码写入 all.csv。\n", ""
    )
    lines = (tmp_path / "all.csv").read_text("utf-8-sig").splitlines()
    assert lines[0] == "姓名,身份,班级,孩子,邀请码,有效期至"
    assert len(lines) == 121
    result = cli(
        "invites", "--school", "东乡第一初级中学", "--out", "t.csv", "--role", "teachers", "--unlinked"
    )
    assert result == Result(0, "已将 4 个邀请码写入 t.csv。\n", "")
    rows = [line.split(",") for line in (tmp_path / "t.csv").read_text("utf-8-sig").splitlines()[1:]]
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [
        ("校长", "", "", "2026-12-23 08:00"),
        ("班主任", "7年级1班", "", "2026-12-23 08:00"),
        ("班主任", "8年级2班", "", "2026-12-23 08:00"),
        ("班主任", "9年级1班", "", "2026-12-23 08:00"),
    ]
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(InviteCode)) == 124
        assert set(s.scalars(select(InviteCode.expires_at))) == {now, now + timedelta(days=30)}
    school = _invite_exports(app)[0][1]
    assert _invite_exports(app) == [
        (now, school, {"role": "all", "count": 120, "unlinked_only": False}),
        (now, school, {"role": "teachers", "count": 4, "unlinked_only": True}),
    ]


def test_invites_refuses_a_missing_required_option(cli: Cli, app: App) -> None:
    cli.use(app.settings.database_url)
    with pytest.raises(SystemExit) as exit_info:
        cli("invites", "--out", "x.csv")
    assert exit_info.value.code == 2
