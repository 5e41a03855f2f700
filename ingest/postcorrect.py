"""Post-correction of Tesseract's words for police text, driven by small data tables.

Every rule here only removes what cannot be text or repairs a form the page itself
shows (a mark in an impossible place, a digit in the other script inside the same
number, a visarga where the label's colon stands). None of them turns a word into a
different word: a misread name stays misread rather than becoming some other name.

    drop_noise_words    tokens with no letter or digit made of speck-like marks (` _ | ~ …)
    strip_noise_edges   the same marks hanging on a word's ends
    fix_stray_marks     vowel signs, virama and nukta after a digit or abbreviation mark
                        (भा०्द०वि० -> भा०द०वि०): Devanagari marks follow letters only
    fix_label_colon     विषयः -> विषय: for form labels (LABEL_COLON), never for अतः
    unify_number_digits ३39210 -> 339210: one number, one digit script (the majority)
    attach_danda        "है ।" -> "है।": a lone danda belongs to the word before it
    join_split_numbers  "295/ 2019" -> "295/2019" when the two boxes (nearly) touch:
                        a number's separator never has a space after it on the page
    fix_vin             MBLHARO7ACC86599 -> MBLHAR07ACC86599: a vehicle identification
                        (chassis) number of an Indian maker (ISO 3779: starts with M,
                        16-17 letters and digits) never holds I, O or Q; they are 1 and 0
    fix_registration    UP 7A AB 12O4 -> UP 74 AB 1204 where the registration format
                        (UP, two digits, letters, four digits) puts digits: lookalike
                        letters there are the digits (O/0, I/1, S/5, B/8, Z/2, G/6)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from abhilekh.records import Word

# Marks that on typed police records are specks, ruling-line stubs or stains, never
# text of their own. Ordinary punctuation (- / , . : ( ) ।) is not in the table.
NOISE_MARKS = frozenset("`~_|‘’“”'\"^\\¦°¬¯ˆ˜•·»«<>{}[]=+*#@$&—–ॱ॒॑")
# A token of punctuation only is kept when Tesseract is at least this sure of it and
# it is ordinary punctuation (a lone "-" in "वादी - नाम"); otherwise it is noise.
KEEP_PUNCT_CONFIDENCE = 85.0
# Form labels printed with a colon, which Tesseract often reads as a visarga (ः).
LABEL_COLON = frozenset({
    "विषय", "पत्रांक", "प्रतिलिपि", "दिनांक", "संदर्भ", "सन्दर्भ", "संलग्नक", "स्थान",
    "नाम", "पता", "निवासी", "मोबाइल", "समय",
})

DANDA = "।"
_DEVA_DIGITS = "०१२३४५६७८९"
_LATIN_DIGITS = "0123456789"
_TO_LATIN = str.maketrans(_DEVA_DIGITS, _LATIN_DIGITS)
_TO_DEVA = str.maketrans(_LATIN_DIGITS, _DEVA_DIGITS)
# A run of digits of either script, possibly with the separators of dates, crime
# numbers and amounts inside it (12/2019, 26.05.2015, 1,20,000, 09-10-2023).
_NUMBER = re.compile(r"[0-9०-९]+(?:[/.,\-][0-9०-९]+)*")
# Marks that can only follow a Devanagari letter: vowel signs, virama, nukta,
# candrabindu/anusvara/visarga are excluded (ं after ० is not an error we can see).
_DEPENDENT = re.compile(r"(?<=[0-9०-९॰.\-/])[\u093A-\u094F\u0951-\u0957\u0962\u0963\u093C]+")


def _is_devanagari_mark(ch: str) -> bool:
    return "\u0900" <= ch <= "\u097F" and unicodedata.category(ch) in ("Mn", "Mc")


def has_content(text: str) -> bool:
    """A letter or digit of any script (Devanagari letters count; marks alone do not)."""
    return any(ch.isalnum() and not _is_devanagari_mark(ch) for ch in text)


def is_noise_word(word: Word) -> bool:
    """No letter or digit, and either a speck-like mark or an unsure read."""
    text = word.text
    if has_content(text):
        return False
    if any(ch in NOISE_MARKS or _is_devanagari_mark(ch) for ch in text):
        return True
    return text != DANDA and word.confidence < KEEP_PUNCT_CONFIDENCE


def strip_noise_edges(text: str) -> str:
    """Remove NOISE_MARKS from both ends of a word that has letters or digits."""
    if not has_content(text):
        return text
    start, end = 0, len(text)
    while start < end and text[start] in NOISE_MARKS:
        start += 1
    while end > start and text[end - 1] in NOISE_MARKS:
        end -= 1
    return text[start:end]


def fix_stray_marks(text: str) -> str:
    """Drop Devanagari dependent marks that follow a digit, ॰ or . - / (never valid)."""
    return _DEPENDENT.sub("", text)


def fix_label_colon(text: str) -> str:
    """विषयः -> विषय: when the stem is a form label (LABEL_COLON); अतः stays."""
    if text.endswith("ः") and text[:-1] in LABEL_COLON:
        return text[:-1] + ":"
    return text


def _unify(match: re.Match) -> str:
    s = match.group(0)
    deva = sum(ch in _DEVA_DIGITS for ch in s)
    latin = sum(ch in _LATIN_DIGITS for ch in s)
    if not deva or not latin:
        return s
    # The majority script wins; a tie goes to Latin digits, which forms and
    # registers use far more often than letters do.
    return s.translate(_TO_DEVA) if deva > latin else s.translate(_TO_LATIN)


def unify_number_digits(text: str) -> str:
    """Within one number, digits of the minority script are turned into the majority's.

    Tesseract's Devanagari model reads a Latin 3 as ३ now and then (they look alike),
    and a number is never written half in one script and half in the other.
    Abbreviation marks (मु0अ0सं0) are not numbers: a digit run glued to a letter is
    left alone.
    """
    out = []
    last = 0
    for m in _NUMBER.finditer(text):
        before = text[m.start() - 1] if m.start() > 0 else ""
        if before and (before.isalpha() or _is_devanagari_mark(before)):
            continue  # मु0, नं0: an abbreviation mark, not a number
        out.append(text[last : m.start()])
        out.append(_unify(m))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


_VIN = re.compile(r"^M[A-Z0-9]{15,16}$")
_VIN_FIX = str.maketrans({"I": "1", "O": "0", "Q": "0"})
_AS_DIGIT = str.maketrans({"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2", "G": "6"})
_REGISTRATION = re.compile(r"^(UP)([-]?)([0-9OISBZGDQL]{2})$|^([0-9OISBZGDQL]{4})$")


def fix_vin(text: str) -> str:
    """I, O, Q in an Indian chassis number (VIN) are 1, 0, 0 (ISO 3779 excludes them)."""
    if _VIN.match(text) and any(ch.isdigit() for ch in text):
        return text.translate(_VIN_FIX)
    return text


def fix_registration(words: list[str]) -> list[str]:
    """Digit slots of UP registration numbers (UP 74 AB 1234, UP-74 AB-1234, UP74AB1234)."""
    out = list(words)
    for i, w in enumerate(out):
        m = re.match(r"^(UP-?)([0-9A-Z]{2})([A-Z]{1,2})?(-?)([0-9A-Z]{4})?$", w)
        if m and (m.group(3) or m.group(5)) and len(w) > 3:
            head, rto, series, dash, num = m.groups()
            fixed = head + rto.translate(_AS_DIGIT) + (series or "") + dash + (num.translate(_AS_DIGIT) if num else "")
            if sum(c.isdigit() for c in fixed) >= 2:
                out[i] = fixed
            continue
        if w in ("UP", "UP-") and i + 1 < len(out) and re.fullmatch(r"[0-9OISBZGDQL]{2}", out[i + 1]):
            out[i + 1] = out[i + 1].translate(_AS_DIGIT)
            for j in (i + 2, i + 3):
                if j < len(out):
                    nxt = re.sub(r"^-", "", out[j].split("-")[-1])
                    if re.fullmatch(r"[0-9OISBZGDQL]{4}", nxt) and sum(c.isdigit() for c in nxt) >= 2:
                        out[j] = out[j][: len(out[j]) - 4] + nxt.translate(_AS_DIGIT)
                        break
    return out


def correct_word(text: str) -> str:
    """All the per-word rules, in order."""
    text = strip_noise_edges(text)
    text = fix_stray_marks(text)
    text = fix_label_colon(text)
    text = fix_vin(text)
    return unify_number_digits(text)


def _merge(a: Word, b: Word) -> Word:
    left, top = min(a.left, b.left), min(a.top, b.top)
    right = max(a.left + a.width, b.left + b.width)
    bottom = max(a.top + a.height, b.top + b.height)
    return replace(
        a, text=a.text + b.text, left=left, top=top, width=right - left, height=bottom - top,
        confidence=min(a.confidence, b.confidence),
    )


# Two pieces of a number whose boxes are closer than this share of their height were
# one word on the page (word spaces are about half a text height or more).
NUMBER_GAP = 0.25
_SPLIT_TAIL = re.compile(r"[0-9०-९][/\-.]$|[0-9०-९]$")
_SPLIT_HEAD = re.compile(r"^[/\-.]?[0-9०-९]")


def _joins(a: Word, b: Word) -> bool:
    if a.line != b.line or not _SPLIT_TAIL.search(a.text) or not _SPLIT_HEAD.match(b.text):
        return False
    if not (a.text[-1] in "/-." or b.text[0] in "/-."):
        return False  # two plain numbers side by side stay two numbers
    gap = b.left - (a.left + a.width)
    return gap <= NUMBER_GAP * max(a.height, b.height)


def correct_rows(rows: list[tuple[int, Word]]) -> list[tuple[int, Word]]:
    """Post-correct words in reading order (block, Word) as ocr.parse_tsv gives them."""
    out: list[tuple[int, Word]] = []
    for block, word in rows:
        if is_noise_word(word):
            continue
        text = correct_word(word.text)
        if not text:
            continue
        word = replace(word, text=text) if text != word.text else word
        if text == DANDA and out and out[-1][1].line == word.line:
            out[-1] = (out[-1][0], _merge(out[-1][1], word))
            continue
        if out and _joins(out[-1][1], word):
            out[-1] = (out[-1][0], _merge(out[-1][1], word))
            continue
        out.append((block, word))
    texts = fix_registration([w.text for _, w in out])
    return [(b, w if w.text == t else replace(w, text=t)) for (b, w), t in zip(out, texts)]
