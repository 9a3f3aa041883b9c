"""Roman Urdu to Urdu script, by rule.  Pure.

Why: the multilingual embedding model (knowledge_base/semantic.py) places Urdu-script text well but
Roman Urdu badly - it reads "bachay shor karte hain" as broken English.  Spelling Roman Urdu in Urdu
script first lets the model see Urdu words it knows.  This need not be a perfect spelling: the model's
sub-word tokens tolerate a missing vowel or a ت for a ط.

Two layers: a table of very common words whose spelling the letter rules get wrong (function words,
pronouns, light verbs, everyday school words; general vocabulary, never evaluation text), then letter
rules for every other word (digraphs first, long vowels written, short medial vowels dropped, word-final
n after a vowel nasal).  English words in a mixed message stay as they are: a word is transliterated
only if it is in the table or the message reads as Roman Urdu overall (normalize.detect_language).
"""
from __future__ import annotations

import re

# Words the letter rules get wrong, mostly because Urdu writes a short vowel, a ہ/ا ending or a
# nasal the Latin spelling does not show.
WORDS: dict[str, str] = {
    "hai": "ہے", "he": "ہے", "hy": "ہے", "hain": "ہیں", "hen": "ہیں", "hein": "ہیں", 
    "ka": "کا", "ki": "کی", "ke": "کے", "k": "کے", "ko": "کو", "se": "سے", "sy": "سے", "mein": "میں",
    "main": "میں", "me": "میں", "mai": "میں", "mn": "میں", "par": "پر", "pe": "پے", "tak": "تک",
    "aur": "اور", "or": "اور", "ya": "یا", "bhi": "بھی", "bi": "بھی", "to": "تو", "na": "نہ",
    "nahi": "نہیں", "nahin": "نہیں", "nai": "نہیں", "nhi": "نہیں", "ni": "نہیں",
    "kya": "کیا", "kia": "کیا", "kaise": "کیسے", "kaisay": "کیسے", "kese": "کیسے", "kesay": "کیسے",
    "kaisy": "کیسے", "kesy": "کیسے", "kyun": "کیوں", "kyon": "کیوں", "kiun": "کیوں", "kab": "کب",
    "kahan": "کہاں", "kon": "کون", "kaun": "کون", "kitna": "کتنا", "kitne": "کتنے", "kitni": "کتنی",
    "kaisa": "کیسا", "konsa": "کونسا", "jab": "جب", "ab": "اب", "phir": "پھر", "agar": "اگر",
    "lekin": "لیکن", "magar": "مگر", "kyunke": "کیونکہ", "kyunki": "کیونکہ", "taake": "تاکہ",
    "mera": "میرا", "meri": "میری", "mere": "میرے", "hum": "ہم", "hamare": "ہمارے",
    "hamara": "ہمارا", "hamari": "ہماری", "ap": "آپ", "aap": "آپ", "apne": "اپنے", "apna": "اپنا",
    "apni": "اپنی", "woh": "وہ", "wo": "وہ", "yeh": "یہ", "ye": "یہ", "is": "اس", "us": "اس",
    "in": "ان", "un": "ان", "unko": "ان کو", "isko": "اس کو", "inko": "ان کو", "koi": "کوئی",
    "kuch": "کچھ", "sab": "سب", "har": "ہر", "bohat": "بہت", "bohot": "بہت", "bahut": "بہت",
    "bht": "بہت", "zyada": "زیادہ", "ziada": "زیادہ", "kam": "کم", "thora": "تھوڑا", "thoda": "تھوڑا",
    "acha": "اچھا", "achha": "اچھا", "achi": "اچھی", "ache": "اچھے", "bura": "برا", "sahi": "صحیح",
    "galat": "غلط", "ghalat": "غلط", "wala": "والا", "wali": "والی", "wale": "والے",
    "kar": "کر", "kr": "کر", "karna": "کرنا", "krna": "کرنا", "karen": "کریں", "karein": "کریں",
    "krein": "کریں", "kren": "کریں", "karun": "کروں", "karoon": "کروں", "krun": "کروں",
    "karte": "کرتے", "krte": "کرتے", "karta": "کرتا", "karti": "کرتی", "krti": "کرتی",
    "kiya": "کیا", "ho": "ہو", "hota": "ہوتا", "hoti": "ہوتی", "hote": "ہوتے",
    "hona": "ہونا", "hoga": "ہوگا", "hogi": "ہوگی", "hua": "ہوا", "hui": "ہوئی", "hue": "ہوئے",
    "tha": "تھا", "thi": "تھی", "thay": "تھے", "the": "تھے", "raha": "رہا", "rahi": "رہی",
    "rahe": "رہے", "rehta": "رہتا", "rehti": "رہتی", "rehte": "رہتے", "sakta": "سکتا",
    "sakti": "سکتی", "sakte": "سکتے", "sakon": "سکوں", "sakun": "سکوں", "chahiye": "چاہیے",
    "chahye": "چاہیے", "chahie": "چاہیے", "dena": "دینا", "dete": "دیتے", "deti": "دیتی",
    "lena": "لینا", "lete": "لیتے", "leti": "لیتی", "jata": "جاتا", "jati": "جاتی", "jate": "جاتے",
    "ata": "آتا", "aata": "آتا", "ati": "آتی", "aati": "آتی", "ate": "آتے", "aate": "آتے",
    "aa": "آ", "aya": "آیا", "ayi": "آئی", "samajh": "سمجھ", "samjh": "سمجھ", "samjha": "سمجھا",
    "samjhana": "سمجھانا", "samjhaun": "سمجھاؤں", "samjhaon": "سمجھاؤں", "samajhte": "سمجھتے",
    "bacha": "بچہ", "bachay": "بچے", "bache": "بچے", "bachy": "بچے", "bachon": "بچوں",
    "bachoon": "بچوں", "bchon": "بچوں", "bachiyan": "بچیاں", "bachiyon": "بچیوں",
    "talaba": "طلبہ", "talba": "طلبہ", "ustad": "استاد", "ustani": "استانی", "teacher": "ٹیچر",
    "class": "کلاس", "jamat": "جماعت", "jamaat": "جماعت", "school": "اسکول", "sabaq": "سبق",
    "sabak": "سبق", "kitab": "کتاب", "kitaab": "کتاب", "imtihan": "امتحان", "imtehan": "امتحان",
    "parcha": "پرچہ", "parchay": "پرچے", "parhana": "پڑھانا", "parhai": "پڑھائی", "parhna": "پڑھنا",
    "parhte": "پڑھتے", "parh": "پڑھ", "likhna": "لکھنا", "likh": "لکھ", "likhte": "لکھتے",
    "yaad": "یاد", "sawal": "سوال", "sawaal": "سوال", "jawab": "جواب", "tareeqa": "طریقہ",
    "tariqa": "طریقہ", "tarika": "طریقہ", "tarah": "طرح", "waqt": "وقت", "din": "دن", "roz": "روز",
    "ghar": "گھر", "walidain": "والدین", "maa": "ماں", "baap": "باپ", "shor": "شور", "masla": "مسئلہ",
    "maslah": "مسئلہ", "madad": "مدد", "zaroorat": "ضرورت", "zarurat": "ضرورت", "khud": "خود",
    "sath": "ساتھ", "saath": "ساتھ", "baad": "بعد", "pehle": "پہلے", "pehlay": "پہلے", "liye": "لیے",
    "liay": "لیے", "lye": "لیے", "kaam": "کام", "baat": "بات", "bat": "بات",
    "log": "لوگ", "dost": "دوست", "sir": "سر", "jee": "جی", "ji": "جی", "shukriya": "شکریہ",
}

# Letter rules, longest first.  Consonant digraphs (kh, gh, sh, ch, aspirates), then single letters.
_DIGRAPHS = [
    ("chh", "چھ"), ("kh", "خ"), ("gh", "غ"), ("sh", "ش"), ("ch", "چ"), ("zh", "ژ"),
    ("th", "تھ"), ("ph", "پھ"), ("bh", "بھ"), ("dh", "دھ"), ("jh", "جھ"), ("rh", "ڑھ"),
]
_CONSONANTS = {
    "b": "ب", "p": "پ", "t": "ت", "d": "د", "j": "ج", "k": "ک", "g": "گ", "r": "ر", "z": "ز",
    "s": "س", "f": "ف", "q": "ق", "l": "ل", "m": "م", "n": "ن", "h": "ہ", "w": "و", "v": "و",
    "y": "ی", "c": "ک", "x": "کس",
}
_WORD = re.compile(r"[a-z]+")
# Table words that are also English words: in a code-mixed message they stay as written.
_ENGLISH = frozenset({"to", "in", "is", "or", "me", "the", "he", "us", "main", "bat", "log", "kam", "ab",
                      "par", "na", "ho", "sir", "kiya", "din", "hum", "sab"})


def _vowel(run: str, position: str) -> str:
    """A run of Latin vowels at the start, middle or end of a word, in Urdu script."""
    if position == "start":
        return {"aa": "آ", "a": "ا", "ai": "اے", "ee": "ای", "i": "ا", "e": "ای", "u": "ا",
                "oo": "او", "o": "او", "au": "او"}.get(run, "ا")
    if position == "end":
        return {"a": "ا", "aa": "ا", "e": "ے", "ay": "ے", "ai": "ائی", "i": "ی", "ee": "ی",
                "o": "و", "oo": "و", "u": "و", "ia": "یا", "ie": "یے", "ey": "ے"}.get(run, "ی")
    # Medial: long vowels are written, short a/i/u are not (as Urdu writes them).
    return {"aa": "ا", "ee": "ی", "ii": "ی", "oo": "و", "o": "و", "e": "ی", "ai": "ے", "ei": "ی",
            "au": "و", "ia": "یا", "io": "یو", "ua": "وا"}.get(run, "")


def transliterate_word(word: str) -> str:
    """One lower-case Latin word in Urdu script (table first, then letter rules)."""
    if word in WORDS:
        return WORDS[word]
    out, i, n = [], 0, len(word)
    while i < n:
        if word[i] in "aeiou":
            j = i
            while j < n and word[j] in "aeiou":
                j += 1
            run = word[i:j]
            pos = "start" if i == 0 else "end" if j == n else "middle"
            # Word-final vowel + n is nasal: "hain" -> ہیں, "karoon" -> ...وں.
            if j == n - 1 and word[j] == "n" and i > 0:
                out.append({"a": "اں", "aa": "اں", "o": "وں", "oo": "وں", "u": "وں"}.get(run, "یں"))
                break
            out.append(_vowel(run, pos))
            i = j
            continue
        pair = next((u for latin, u in _DIGRAPHS if word.startswith(latin, i)), None)
        if pair is not None:
            out.append(pair)
            i += len(next(latin for latin, u in _DIGRAPHS if word.startswith(latin, i)))
            continue
        if i + 1 < n and word[i + 1] == word[i]:   # doubled consonant: written once
            i += 1
        out.append(_CONSONANTS.get(word[i], word[i]))
        i += 1
    return "".join(out)


def to_urdu_script(text: str, whole_message: bool = True) -> str:
    """The message with its Roman Urdu words in Urdu script.

    ``whole_message`` True: every Latin word is transliterated (the message reads as Roman Urdu);
    False: only words in the table, so English words of a code-mixed message stay English.
    """
    def repl(m: re.Match) -> str:
        w = m.group(0)
        if w.isdigit():
            return w
        if whole_message or (w in WORDS and w not in _ENGLISH):
            return transliterate_word(w)
        return w
    return _WORD.sub(repl, (text or "").lower())
