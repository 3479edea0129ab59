"""The plan file: loaded, and every mistake reported with its file, theme and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from thrv.plan.spec import PlanError, load_plan

from .conftest import EXAMPLE_PLAN

GOOD = '''
[plan]
title = "Plan"

[[theme]]
name = "Victims"
outcome = "Victims cope and recover."
aim = "Support victims."

[[theme.priority]]
name = "Support"

[[theme.priority.indicator]]
id = "victim_satisfaction_whole_experience"
target = 85

[[theme.priority.group]]
name = "Burglary dwelling"

[[theme.priority.group.indicator]]
measure = "overdue"
direction = "lower_is_better"
benchmark = { value = 12.0, label = "peers" }
'''


def _problems(tmp_path: Path, text: str, name: str = "plan.toml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    return caught.value.problems


def test_the_example_plan_has_the_four_seed_themes() -> None:
    plan = load_plan(EXAMPLE_PLAN)
    assert [t.name for t in plan.themes] == ["Victims", "Offenders", "Communities", "Transformation"]
    assert plan.example and "example" in plan.note.lower()
    assert all(t.outcome and t.aim for t in plan.themes)
    offenders = plan.theme("offenders")
    acquisitive = next(p for p in offenders.priorities if p.name == "Combating acquisitive crime")
    assert [g.name for g in acquisitive.groups] == ["Burglary dwelling", "Vehicle crime"]
    keys = [i.key for _, i in plan.all_indicators()]
    assert len(keys) == len(set(keys))


def test_a_good_plan(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(GOOD, encoding="utf-8")
    plan = load_plan(path)
    (ind,) = plan.themes[0].priorities[0].indicators
    assert ind.source == "pack" and ind.target is not None and ind.target.value == 85 and ind.target.rule is None
    (group,) = plan.themes[0].priorities[0].groups
    (m,) = group.indicators
    assert m.source == "measure" and m.benchmark is not None and m.benchmark.label == "peers"


def test_yaml_plans_read_the_same(tmp_path: Path) -> None:
    yaml_text = '''
plan: {title: Plan}
themes:
  - name: Victims
    outcome: Victims cope and recover.
    aim: Support victims.
    priorities:
      - name: Support
        indicators:
          - {id: victim_satisfaction_whole_experience, target: 85}
        groups:
          - name: Burglary dwelling
            indicators:
              - {measure: overdue, direction: lower_is_better, benchmark: {value: 12.0, label: peers}}
'''
    (tmp_path / "plan.yaml").write_text(yaml_text, encoding="utf-8")
    (tmp_path / "plan.toml").write_text(GOOD, encoding="utf-8")
    a, b = load_plan(tmp_path / "plan.yaml"), load_plan(tmp_path / "plan.toml")

    def shape(plan: object) -> list[object]:
        return [(t.name, i.key, i.source, i.ref, i.target, i.benchmark, i.direction)
                for t, i in plan.all_indicators()]  # type: ignore[attr-defined]

    assert shape(a) == shape(b) and a.title == b.title
    assert [(t.outcome, t.aim, [p.name for p in t.priorities]) for t in a.themes] == [
        (t.outcome, t.aim, [p.name for p in t.priorities]) for t in b.themes]


def test_every_problem_is_reported_with_file_theme_and_key(tmp_path: Path) -> None:
    text = GOOD.replace('aim = "Support victims."\n', "") \
        .replace("target = 85", 'target = { value = "high" }\nfigure = "weekly"\ncolour = "red"') \
        .replace('direction = "lower_is_better"', 'direction = "down"\nid = "also_an_id"')
    problems = _problems(tmp_path, text)
    path = str(tmp_path / "plan.toml")
    assert all(p.startswith(path) for p in problems)
    expected = [
        "theme 'Victims': missing 'aim'",
        "theme 'Victims': priority 'Support': indicator 1 (victim_satisfaction_whole_experience): unknown key(s) colour",
        "theme 'Victims': priority 'Support': indicator 1 (victim_satisfaction_whole_experience): figure: must be one of month, rolling_12m, latest, got 'weekly'",
        "theme 'Victims': priority 'Support': indicator 1 (victim_satisfaction_whole_experience): target: 'value' must be a number, got 'high'",
        "theme 'Victims': priority 'Support': group 'Burglary dwelling': indicator 1: give exactly one of 'id' (a thrv indicator) or 'measure' (a generic measure)",
        "group 'Burglary dwelling': indicator 1 (also_an_id): direction: must be one of higher_is_better, lower_is_better, none, got 'down'",
    ]
    for e in expected:
        assert any(e in p for p in problems), (e, problems)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[plan]\ntitle = \"Plan\"\n", "[plan]\n"), "[plan]: missing 'title'"),
        (("target = 85", "target = { value = 85, rule = \"above\" }"), "target: rule must be at_least or at_most, got 'above'"),
        (("target = 85", "target = [85]"), "target: expected a number or"),
        (("target = 85", "crime_type = 3"), "crime_type: must be a crime type name"),
        (('measure = "overdue"', 'measure = "overdue"\ncrime_type = "Burglary"'), "split a thrv survey indicator (id = ...), not a measure"),
        (("target = 85", 'direction = "higher_is_better"'), "a thrv indicator's direction is set in its definition"),
        (('name = "Support"', 'name = "Support"\nindicators = []'), ""),
        (('[[theme.priority.group.indicator]]\nmeasure = "overdue"\ndirection = "lower_is_better"\nbenchmark = { value = 12.0, label = "peers" }\n', ""), "group 'Burglary dwelling': no indicators"),
        (("[plan]", "[plan]\nindicator_files = [\"nowhere.toml\"]"), "indicator_files: nowhere.toml: no such file"),
        (("[[theme]]", "[[theme]]\nname = \"Victims\"\noutcome = \"x\"\naim = \"y\"\nindicators = [\"asb\"]\n\n[[theme]]"), "another theme has the same name"),
        (("benchmark = { value = 12.0, label = \"peers\" }", "benchmark = \"national\""), "benchmark: expected a number or"),
    ],
)
def test_bad_plans(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*change)
    if not message:  # an empty list of indicators beside groups is fine
        path = tmp_path / "ok.toml"
        path.write_text(text, encoding="utf-8")
        load_plan(path)
        return
    problems = _problems(tmp_path, text)
    assert any(message in p for p in problems), problems


def test_unreadable_files(tmp_path: Path) -> None:
    assert "not valid TOML" in _problems(tmp_path, "[plan\n")[0]
    assert "not valid YAML" in _problems(tmp_path, "plan: [\n", "plan.yml")[0]
    with pytest.raises(PlanError, match="cannot read the plan"):
        load_plan(tmp_path / "none.toml")
    assert "no [[theme]] entries" in " ".join(_problems(tmp_path, '[plan]\ntitle = "x"\n'))


def test_theme_lookup() -> None:
    plan = load_plan(EXAMPLE_PLAN)
    assert plan.theme("  TRANSFORMATION ").name == "Transformation"
    with pytest.raises(PlanError, match="the plan's themes are: Victims, Offenders"):
        plan.theme("Roads")
