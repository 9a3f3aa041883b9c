"""Did a lesson change what teachers ask? A difference-in-differences per lesson topic. Pure.

For each topic (taxonomy area) and each push cohort (the local day a lesson on that topic was first sent to a
teacher):

  treated     teachers whose first lesson on the topic went out that day;
  comparison  teachers of the population who had not been sent a lesson on the topic by the end of the
              cohort's after-window (so nothing we sent on the topic can explain their change);
  rate        questions on the topic per teacher per week, in the `weeks` weeks before the push day
              [day - weeks, day) and the `weeks` weeks after it [day, day + weeks).

  effect(cohort) = (treated after - treated before) - (comparison after - comparison before)

A topic's effect is the mean over its cohorts weighted by the number of treated teachers. Cohorts whose
after-window has not ended by `now` are left out (a half-observed window would understate the rate).
A negative effect means recipients asked *less* about the topic after the lesson than comparable teachers:
read it as "the lesson answered questions before they were asked", with the caveat that this is
observational (teachers were not randomised; the choice rule even prefers topics they asked about, so
regression to the mean pushes the treated figure down: the comparison group carries the same pull only in part).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

from analytics.reports import DEFAULT_K as MIN_CELL  # planners see no cell with fewer teachers (k-anonymity)


@dataclass(frozen=True)
class Exposure:
    teacher: str  # pseudonymous key
    topic: str
    sent_on: date


@dataclass(frozen=True)
class Question:
    teacher: str
    topic: str
    asked_on: date


@dataclass(frozen=True)
class CohortEffect:
    topic: str
    day: date
    treated: int
    comparison: int
    treated_before: float
    treated_after: float
    comparison_before: float
    comparison_after: float

    @property
    def effect(self) -> float:
        return (self.treated_after - self.treated_before) - (self.comparison_after - self.comparison_before)


@dataclass(frozen=True)
class TopicEffect:
    topic: str
    treated: int
    cohorts: tuple[CohortEffect, ...]
    effect: float | None  # None when no cohort has both groups
    min_cell: int = MIN_CELL  # settings.report_min_teachers on the planners' page

    @property
    def suppressed(self) -> bool:
        return self.treated < self.min_cell or any(c.comparison < self.min_cell for c in self.cohorts)


def topic_effects(exposures: Iterable[Exposure], questions: Iterable[Question], population: Iterable[str], *,
                  today: date, weeks: int = 4, min_cell: int = MIN_CELL) -> list[TopicEffect]:
    window = timedelta(weeks=weeks)
    population = set(population)
    first_sent: dict[tuple[str, str], date] = {}
    for exposure in exposures:
        key = (exposure.topic, exposure.teacher)
        if key not in first_sent or exposure.sent_on < first_sent[key]:
            first_sent[key] = exposure.sent_on
    asked: dict[tuple[str, str], list[date]] = defaultdict(list)
    for question in questions:
        asked[(question.topic, question.teacher)].append(question.asked_on)

    cohorts: dict[tuple[str, date], set[str]] = defaultdict(set)
    for (topic, teacher), day in first_sent.items():
        cohorts[(topic, day)].add(teacher)

    by_topic: dict[str, list[CohortEffect]] = defaultdict(list)
    for (topic, day), treated in sorted(cohorts.items()):
        if day + window > today:
            continue
        comparison = {teacher for teacher in population - treated
                      if first_sent.get((topic, teacher), date.max) >= day + window}
        if not comparison:
            continue

        def rate(group: set[str], start: date, end: date) -> float:
            count = sum(1 for teacher in group for asked_on in asked.get((topic, teacher), ())
                        if start <= asked_on < end)
            return count / (len(group) * weeks)

        by_topic[topic].append(CohortEffect(
            topic, day, len(treated), len(comparison),
            rate(treated, day - window, day), rate(treated, day, day + window),
            rate(comparison, day - window, day), rate(comparison, day, day + window),
        ))
    results = []
    for topic in sorted({topic for topic, _ in cohorts}):
        found = tuple(by_topic.get(topic, ()))
        treated = sum(c.treated for c in found)
        effect = sum(c.effect * c.treated for c in found) / treated if treated else None
        results.append(TopicEffect(topic, treated, found, effect, min_cell))
    return results
