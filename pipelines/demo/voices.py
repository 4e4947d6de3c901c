"""The voices of Debian's Asterisk prompt packages: which package and folder holds each
language's two voices, where their recordings live, and which prompt names say one word."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOUNDS_ROOT = Path("/usr/share/asterisk/sounds")
WORD_CATEGORIES = ("digits", "letters", "phonetic")
NEVER_CATEGORIES = ("silence",)  # silence/1..10 are seconds of dither, not speech
SOURCE_SUFFIXES = (".wav", ".gsm")  # when one name exists in both, the first is used
COLUMNS = ["path", "label", "speaker", "language", "category"]
PHRASE_CATEGORY = "phrase"  # prompts at the top of a voice folder
SILENT_PEAK = 100  # int16 peak under about -50 dBFS: nothing was said

# Prompt names that one language's voices record as the same word (from the transcripts in
# asterisk-core-sounds-it's documentation): they share a label, so finding one for the other
# counts as a match.
SAME_WORD = {
    "it": {
        "digits/oh": "digits/0",  # "zero"
        "phonetic/9_p": "digits/9",  # "nove"
        "letters/e": "digits/e",  # "e"
        "letters/asterisk": "digits/star",  # "asterisco"
        "letters/ascii42": "digits/star",
    },
}


@dataclass(frozen=True)
class Voice:
    """One speaker's prompt folder and the Debian package that installs it."""

    folder: str
    speaker: str
    package: str
    credit: str
    licence: str


@dataclass(frozen=True)
class Language:
    """A language's two voices: the default archive voice first."""

    code: str
    name: str
    archive: Voice
    queries: Voice


LANGUAGES = {
    "it": Language(
        "it",
        "Italian",
        Voice(
            "it_IT_m_Carlo",
            "it_IT_m_Carlo",
            "asterisk-core-sounds-it-wav",
            "recorded by Carlo Flora, translated by Silvia Petrin, for Digium",
            "CC BY 3.0",
        ),
        Voice(
            "it_IT_f_Menardi",
            "it_IT_f_Menardi",
            "asterisk-prompt-it-menardi-wav",
            "Marco Menardi and Paola Dal Zot, http://www.voip.ammdomus.it",
            "CC BY-SA 3.0 Italy; the authors ask that end users can see this credit and URL",
        ),
    ),
    "fr": Language(
        "fr",
        "French",
        Voice(
            "fr_CA_f_June",
            "fr_CA_f_June",
            "asterisk-core-sounds-fr-wav",
            "recorded by June Wallack for Digium",
            "CC BY-SA 3.0",
        ),
        Voice(
            "fr",
            "fr_f_Armelle",
            "asterisk-prompt-fr-armelle",
            "voice of Armelle Desjardins, (C) 2006 Michel Gutierrez",
            "BSD-style: keep the copyright notice and disclaimer; no endorsement",
        ),
    ),
    "es": Language(
        "es",
        "Spanish",
        Voice(
            "es_MX_f_Allison",
            "es_MX_f_Allison",
            "asterisk-core-sounds-es-wav",
            "recorded by Allison Smith for Digium",
            "CC BY-SA 3.0",
        ),
        Voice(
            "es",
            "es_CO_f_July",
            "asterisk-prompt-es-co",
            "voice of July E. Jiménez, (C) 2006 Avatar Ltda. (Colombian accent)",
            "GPL v2",
        ),
    ),
}
