"""The interface other domains use: a pupil's regional results, and lines on applications opening."""

from __future__ import annotations

from datetime import date

from chatbot.aid.api import applications_opening, opening_lines, pack_for_school, results_for_student
from chatbot.aid.engine import Status
from chatbot.app import App
from chatbot.i18n import use_locale
from chatbot.people.auth import children_of
from db.models import Person, Stage


def test_results_for_a_pupil_follow_the_school_region_and_date(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        primary_child = children_of(s, s.get(Person, demo.parent))[0]
        primary_child.boarding = True
        primary_child.household = ["registered_poor"]
        school = primary_child.school_class.school
        assert pack_for_school(school, date(2019, 10, 1)).id == "linxia-2019"
        assert pack_for_school(school, date(2026, 11, 23)).id == "national"
        in_2019 = {r.item_id: r for r in results_for_student(primary_child, date(2019, 10, 1))}
        assert in_2019["boarding_allowance"].status == Status.ELIGIBLE
        assert in_2019["boarding_allowance"].amount == 1000
        now = {r.item_id: r for r in results_for_student(primary_child, date(2026, 11, 23))}
        assert now["boarding_allowance"].amount == 1250
        s.rollback()


def test_opening_lines_for_reminders_in_the_recipients_language() -> None:
    from chatbot.aid.pack import load_pack

    items = applications_opening(load_pack("national"), 7, date(2026, 7, 1), [Stage.UNDERGRADUATE])
    with use_locale("en"):
        assert opening_lines(items) == [
            "National student loan — when: In the summer before the term (July–September); where: County "
            "student-aid centre (home-county loan) or the university's aid centre (campus loan)."
        ]
    with use_locale("zh_Hans"):
        assert opening_lines(items)[0].startswith(
            "国家助学贷款（生源地/校园地）——时间：每年暑假，开学前（7—9月）；地点："
        )
    assert applications_opening(load_pack("national"), 7, date(2026, 7, 1), [Stage.PRIMARY]) == []


def test_the_school_record_says_the_pupil_studies_in_the_home_province(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    """Linxia's vocational items need a school in the home province: a school of the region is one."""
    with app.session_factory() as s:
        child = children_of(s, s.get(Person, demo.parent))[0]
        child.school_class.school.stage = Stage.SECONDARY_VOCATIONAL
        child.household = ["registered_poor", "not-a-flag"]
        results = {r.item_id: r for r in results_for_student(child, date(2019, 10, 1))}
        assert results["sec_voc_grant"].status == Status.ELIGIBLE
        assert [c.wanted for c in results["sec_voc_grant"].met] == [
            ("secondary_vocational",),
            ("True",),
            ("registered_poor",),
        ]
        s.rollback()


def test_no_household_recorded_means_unknown_not_none(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        child = children_of(s, s.get(Person, demo.parent))[0]
        child.boarding = True
        child.household = []
        results = {r.item_id: r for r in results_for_student(child, date(2026, 11, 23))}
        assert results["boarding_allowance"].status == Status.POSSIBLE
        s.rollback()
