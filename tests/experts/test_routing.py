"""The pure routing decision: who gets a ticket (no database)."""
from datetime import datetime

from helpdesk.experts.routing import ExpertSlot, TicketNeeds, choose_expert, on_duty

# Monday 2026-11-23 06:00 UTC is 11:00 in Karachi (UTC+5).
MONDAY_11_PKT = datetime(2026, 11, 23, 6, 0)


def slot(id, subjects=("maths",), **kw):
    return ExpertSlot(id=id, subjects=tuple(subjects), **kw)


def test_it_picks_the_least_loaded_matching_expert():
    experts = [slot(1, load=3), slot(2, load=1), slot(3, subjects=("science",), load=0)]
    assert choose_expert(experts, TicketNeeds(subject="maths"), MONDAY_11_PKT) == 2


def test_equal_load_goes_round_robin_to_the_one_assigned_longest_ago():
    experts = [slot(1, last_assigned_at=datetime(2026, 11, 23, 5, 0)),
               slot(2, last_assigned_at=datetime(2026, 11, 23, 4, 0)),
               slot(3, last_assigned_at=datetime(2026, 11, 23, 5, 30))]
    assert choose_expert(experts, TicketNeeds(subject="maths"), MONDAY_11_PKT) == 2
    never = slot(4)  # never assigned: first in the round
    assert choose_expert(experts + [never], TicketNeeds(subject="maths"), MONDAY_11_PKT) == 4


def test_full_experts_are_skipped_and_no_match_means_the_queue():
    experts = [slot(1, load=2, capacity=2), slot(2, subjects=("science",))]
    assert choose_expert(experts, TicketNeeds(subject="maths"), MONDAY_11_PKT) is None
    with_room = experts[:1] + [slot(3, load=1, capacity=2)]
    assert choose_expert(with_room, TicketNeeds(subject="maths"), MONDAY_11_PKT) == 3


def test_grade_band_and_language_must_match():
    experts = [slot(1, grade_bands=("secondary",)), slot(2, grade_bands=("primary",), languages=("en",)),
               slot(3, grade_bands=(), languages=("ur",), load=2)]
    needs = TicketNeeds(subject="maths", grade_band="primary", language="en")
    assert choose_expert(experts, needs, MONDAY_11_PKT) == 2
    # Roman Urdu is served by Urdu speakers; expert 3 has no band limit.
    assert choose_expert(experts, TicketNeeds(subject="maths", grade_band="primary", language="roman-ur"),
                         MONDAY_11_PKT) == 3


def test_general_experts_take_any_subject_but_specialists_come_first_at_equal_load():
    experts = [slot(1, subjects=("general",)), slot(2, subjects=("science",))]
    assert choose_expert(experts, TicketNeeds(subject="maths"), MONDAY_11_PKT) == 1
    assert choose_expert(experts, TicketNeeds(subject="science"), MONDAY_11_PKT) == 2


def test_excluded_expert_is_not_chosen_again():
    experts = [slot(1), slot(2, load=4)]
    assert choose_expert(experts, TicketNeeds(subject="maths", exclude=frozenset({1})), MONDAY_11_PKT) == 2


def test_working_hours_are_in_the_experts_time_zone():
    nine_to_five = slot(1)  # 09:00-17:00 Karachi, Monday-Saturday
    assert on_duty(nine_to_five, MONDAY_11_PKT)
    assert not on_duty(nine_to_five, datetime(2026, 11, 23, 3, 30))  # 08:30 in Karachi
    assert not on_duty(nine_to_five, datetime(2026, 11, 23, 12, 0))  # 17:00 in Karachi: shift over
    assert not on_duty(nine_to_five, datetime(2026, 11, 29, 6, 0))  # Sunday
    london = slot(2, timezone="Europe/London")
    assert not on_duty(london, MONDAY_11_PKT)  # 06:00 in London
    assert choose_expert([nine_to_five, london], TicketNeeds(subject="maths"), MONDAY_11_PKT) == 1


def test_a_night_shift_past_midnight_belongs_to_the_day_it_started():
    night = slot(1, work_start_minute=20 * 60, work_end_minute=2 * 60, work_days=(0,))  # Monday night
    assert on_duty(night, datetime(2026, 11, 23, 16, 0))  # Mon 21:00 PKT
    assert on_duty(night, datetime(2026, 11, 23, 20, 30))  # Tue 01:30 PKT, still Monday's shift
    assert not on_duty(night, datetime(2026, 11, 24, 16, 0))  # Tue 21:00 PKT: not a working day


def test_inactive_experts_get_nothing():
    assert choose_expert([slot(1, active=False)], TicketNeeds(subject="maths"), MONDAY_11_PKT) is None


def test_an_urgent_ticket_goes_to_a_lead_on_duty_whatever_the_subject_band_or_load():
    experts = [slot(1, load=0), slot(2, subjects=("english",), load=9, capacity=1, is_lead=True),
               slot(3, subjects=("science",), work_days=())]
    needs = TicketNeeds(subject="maths", grade_band="primary", urgent=True)
    assert choose_expert(experts, needs, MONDAY_11_PKT) == 2          # the lead, though full and off-subject
    assert choose_expert(experts, TicketNeeds(subject="maths"), MONDAY_11_PKT) == 1   # not urgent: as before


def test_an_urgent_ticket_prefers_its_language_but_takes_anyone_on_duty_over_nobody():
    english_only = slot(1, subjects=("science",), languages=("en",))
    urdu = slot(2, subjects=("science",), languages=("ur",), load=4)
    assert choose_expert([english_only, urdu], TicketNeeds(language="roman-ur", urgent=True), MONDAY_11_PKT) == 2
    assert choose_expert([english_only], TicketNeeds(language="ur", urgent=True), MONDAY_11_PKT) == 1
    off_duty = slot(3, work_days=())
    assert choose_expert([off_duty], TicketNeeds(urgent=True), MONDAY_11_PKT) is None
