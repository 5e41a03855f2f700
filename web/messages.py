"""Hindi for the English messages other parts raise (ingest's reasons for quarantining a
file, the user store's refusals), so that officers read every message in both languages.

Each entry is a pattern on the start of the English message and its Hindi; what the
English names (a file, a number) is carried over from the match. A message no pattern
knows gets a general Hindi sentence, and the English beside it says exactly what.
"""

from __future__ import annotations

import re

_INGEST: list[tuple[str, str]] = [
    (r"unsupported file type: it is (.+?), not a scan", r"असमर्थित फ़ाइल प्रकार: यह \1 है, स्कैन नहीं; TIFF, JPEG, PNG या स्कैन की गई PDF दें"),
    (r"file is empty", "फ़ाइल ख़ाली है (0 बाइट); स्कैनर से फिर कॉपी करें या दोबारा स्कैन करें"),
    (r"file is (\d+) MB, over the", r"फ़ाइल \1 MB की है, सीमा से बड़ी; इसे बाँटें"),
    (r"no such file", "फ़ाइल नहीं मिली"),
    (r"image cannot be opened", "चित्र खुल नहीं सका; दोबारा स्कैन या एक्सपोर्ट करें"),
    (r"image too large", "चित्र बहुत बड़ा है (पिक्सेल सीमा से अधिक); कम रिज़ॉल्यूशन पर स्कैन करें"),
    (r"(page \d+ of the image|image) is truncated or damaged", "चित्र अधूरा या क्षतिग्रस्त है; दोबारा स्कैन या कॉपी करें"),
    (r"page (\d+) of the image is damaged", r"चित्र का पृष्ठ \1 क्षतिग्रस्त है; दोबारा स्कैन करें"),
    (r"page (\d+) has no pixels", r"पृष्ठ \1 में कुछ नहीं है; दोबारा स्कैन करें"),
    (r"PDF is password-protected|PDF is encrypted", "PDF पासवर्ड से सुरक्षित है; पासवर्ड हटाकर दोबारा दें"),
    (r"PDF has no pages", "PDF में कोई पृष्ठ नहीं है; दोबारा एक्सपोर्ट करें"),
    (r"PDF has (\d+) pages, over the limit", r"PDF में \1 पृष्ठ हैं, सीमा से अधिक; खंडों में बाँटें"),
    (r"PDF takes too long to open|PDF is damaged|PDF has no readable page count|PDF page tree is damaged",
     "PDF क्षतिग्रस्त है और पढ़ी नहीं जा सकती; दोबारा स्कैन या एक्सपोर्ट करें"),
    (r"PDF page (\d+) is .* too large", r"PDF का पृष्ठ \1 बहुत बड़ा है; काग़ज़ के आकार में एक्सपोर्ट करें"),
    (r"PDF page (\d+) (cannot be rendered|takes longer)", r"PDF का पृष्ठ \1 बन नहीं सका; दोबारा स्कैन या एक्सपोर्ट करें"),
    (r"zip archive is password-protected", "zip पासवर्ड से सुरक्षित है; बिना पासवर्ड के बनाएँ"),
    (r"zip archive (is damaged|unpacks|has \d+ entries|inflates)", "zip फ़ाइल क्षतिग्रस्त या बहुत बड़ी है; फिर बनाएँ या बाँटें"),
    (r"zip entry .* (symbolic link|outside)", "zip में असुरक्षित प्रविष्टि है; zip फिर से बनाएँ"),
    (r"zip entry .* cannot be extracted", "zip की एक फ़ाइल निकाली नहीं जा सकी; zip फिर से बनाएँ"),
    (r"cannot be looked at", "फ़ाइल देखी नहीं जा सकी; फ़ोल्डर की अनुमतियाँ जाँचें"),
    (r"Tesseract|OCR", "पाठ पढ़ना (OCR) विफल रहा; व्यवस्थापक को सूचित करें"),
]

_USERS: list[tuple[str, str]] = [
    (r"a user name is 1-64", "उपयोगकर्ता नाम 1-64 अक्षर (a-z 0-9 . _ - @) का हो"),
    (r"a password has at least (\d+)", r"पासवर्ड में कम से कम \1 अक्षर हों"),
    (r"role must be one of", "भूमिका officer, operator या admin में से हो"),
    (r"user '(.+)' exists already", r"उपयोगकर्ता '\1' पहले से है"),
    (r"no user '(.+)'", r"उपयोगकर्ता '\1' नहीं है"),
    (r"'(.+)' is the last active admin", r"'\1' अंतिम सक्रिय व्यवस्थापक है: पहले किसी और को व्यवस्थापक बनाएँ"),
    (r"you cannot disable yourself", "आप स्वयं को निष्क्रिय नहीं कर सकते"),
    (r"choose at least one station", "कम से कम एक थाना चुनें"),
    (r"unknown action", "अज्ञात कार्य; पृष्ठ दोबारा खोलें"),
    (r"language must be one of", "भाषा hi, en या both में से हो"),
]

INGEST_FALLBACK = "यह फ़ाइल पढ़ी नहीं जा सकी; कारण अंग्रेज़ी में साथ लिखा है"
USERS_FALLBACK = "बदलाव नहीं हुआ; कारण अंग्रेज़ी में साथ लिखा है"


def _translate(english: str, table: list[tuple[str, str]], fallback: str) -> str:
    for pattern, hindi in table:
        match = re.search(pattern, english)
        if match:
            return match.expand(hindi)
    return fallback


def ingest_reason(english: str) -> str:
    """Hindi for why ingest set a file aside (ingest/load.py's BadInput reasons)."""
    return _translate(english, _INGEST, INGEST_FALLBACK)


def user_error(english: str) -> str:
    """Hindi for a refusal of access/users.py (UserError)."""
    return _translate(english, _USERS, USERS_FALLBACK)
