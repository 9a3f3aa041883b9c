"""The service-figure maths (pure)."""
from datetime import datetime, timedelta

from helpdesk.experts.service_figures import TicketFacts, breached, figures_by

T0 = datetime(2026, 11, 23, 9, 0)
NOW = T0 + timedelta(hours=10)


def fact(subject="Maths", expert="Ayesha", first=None, resolved=None, reassignments=0, breaches=0,
         rating=None, target=60, created=T0):
    return TicketFacts(subject=subject, expert=expert, created_at=created,
                       first_response_at=created + timedelta(minutes=first) if first is not None else None,
                       resolved_at=created + timedelta(minutes=resolved) if resolved is not None else None,
                       reassignments=reassignments, recorded_breaches=breaches, rating=rating,
                       target_minutes=target)


def test_per_subject_and_overall_figures():
    facts = [fact(first=10, resolved=10, rating=1),
             fact(first=30, resolved=90, rating=2, reassignments=1, breaches=1),
             fact(first=50, resolved=50), fact(subject="Science", expert=None)]
    rows = {row.group: row for row in figures_by(facts, "subject", NOW)}
    maths = rows["Maths"]
    assert (maths.tickets, maths.answered) == (3, 3)
    assert maths.median_first_response_min == 30.0 and maths.mean_first_response_min == 30.0
    assert maths.median_resolution_min == 50.0
    assert (maths.reassignments, maths.sla_breaches, maths.rated, maths.helped) == (1, 1, 2, 1)
    assert maths.helped_pct == 50.0
    science = rows["Science"]
    assert science.answered == 0 and science.median_first_response_min is None
    assert science.sla_breaches == 1  # unanswered for 10 h against a 60 min target
    assert rows["all"].tickets == 4 and rows["all"].sla_breaches == 2


def test_per_expert_groups_unanswered_separately():
    facts = [fact(first=5), fact(expert="Bilal", first=7), fact(expert=None)]
    groups = [row.group for row in figures_by(facts, "expert", NOW)]
    assert groups == ["(unassigned)", "Ayesha", "Bilal", "all"]


def test_breach_rules():
    assert not breached(fact(first=59), NOW)
    assert breached(fact(first=61), NOW)
    assert breached(fact(first=5, breaches=1), NOW)  # missed once, then answered quickly by the next expert
    assert not breached(fact(created=NOW - timedelta(minutes=30)), NOW)  # still within target
    assert fact(rating=None).rating is None and figures_by([], "subject", NOW)[0].helped_pct is None


def test_flags_and_false_alarms_are_counted_per_category_and_overall():
    from helpdesk.experts.service_figures import FlagFacts, flag_figures, flag_values

    facts = [FlagFacts("emergency", True), FlagFacts("emergency", False), FlagFacts("self_harm", False),
             FlagFacts("emergency", False)]
    rows = {row.category: row for row in flag_figures(facts)}
    assert (rows["emergency"].flags, rows["emergency"].false_alarms, rows["emergency"].false_alarm_pct) == \
        (3, 1, 33.3)
    assert flag_values(rows["all"]) == ["all", 4, 1, 25.0]
    assert flag_values(flag_figures([])[0]) == ["all", 0, 0, None]
