"""Generate the redactor's two word lists once; their output is committed, this script is not run by anything.

    python -m venv /tmp/lex && /tmp/lex/bin/pip install faker==40.63.0 pyspellchecker==0.9.1 english-words==2.0.2
    /tmp/lex/bin/python data/pii/build_lexicons.py

Writes agent_runtime/events/names.txt and agent_runtime/events/words.txt (see data/pii/README.md):
- names.txt: one lower-case, ASCII-folded given name or surname a line, `name<TAB>kinds`, kinds being `f` (given
  name), `l` (surname) and `w` when the name is also an everyday English word ("will", "grant", "rose"), which the
  redactor masks only with other evidence. Source: Faker's person providers (MIT licence), the locales in LOCALES.
- words.txt: everyday English words that are not in names.txt, for telling an unknown word (likely a name) from a
  known one. Source: pyspellchecker's English frequency list (MIT; counted on OpenSubtitles), the TOP_WORDS most
  frequent, apostrophes dropped as speech-to-text writes them ("don't" -> "dont"), plus the words of this
  repository's DST training utterances (data/dst/train*.jsonl) and a few payment words (DOMAIN_WORDS), less the names.
- "Everyday word": in the FREQUENT_RANK most frequent of that list and written in lower case in Webster's Second
  (english-words' web2 list, public domain), or in the VERY_FREQUENT_RANK most frequent whatever web2 says; month
  names too.
"""

from __future__ import annotations

import gzip
import importlib
import json
import pickle
import re
import unicodedata
from pathlib import Path

import english_words
import faker.providers.person as person
import spellchecker

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "agent_runtime" / "events"
# Latin-script locales (the others give nothing after ASCII folding) of the people a US agency calls.
LOCALES = [
    "en", "en_US", "en_GB", "en_IE", "en_IN", "en_KE", "en_NG", "en_NZ", "en_PK", "es_MX", "es_ES", "es_CO", "es_AR",
    "es_CL", "pt_BR", "pt_PT", "fr_FR", "fr_CA", "de_DE", "it_IT", "nl_NL", "pl_PL", "cs_CZ", "ro_RO", "hr_HR",
    "tr_TR", "id_ID", "vi_VN", "zh_CN", "zh_TW", "ja_JP", "tw_GH", "yo_NG", "ig_NG", "ha_NG", "sw", "zu_ZA",
]  # fmt: skip
TOP_WORDS = 40_000
FREQUENT_RANK = 20_000
VERY_FREQUENT_RANK = 3_000
MONTHS = "january february march april may june july august september october november december".split()
# Payment and credit words a debtor says that no frequency list above knows (added after the first look at the
# labelled set, where "amex" and "mastercard" were taken for names; "ssn" for tests/test_events.py).
DOMAIN_WORDS = set(
    """visa mastercard amex discover paypal venmo zelle cashapp applepay googlepay transunion equifax experian cfpb
    fdcpa voicemail autopay paycheck payday biweekly ssn dob cvv itin iban""".split()
)
# Reviewed by hand from the generated everyday-word names (the labelled set was not consulted): these are above all
# names in American speech, so they get no `w` ...
PRIMARILY_NAMES = set(
    """alan amy ann anna barry beth betty billy blair blake bob bobby brad cal carl caroline carter chi clark clive
    collins dan dee donna earl elaine emma eric florence graham han hank harry hastings heather hector henry homer
    jake jane jay jeff jenny jerry jess jimmy joe joey jordan josh kelly ken kim kirk kyle lam larry laura lee li
    lucy luke maria martin mary mel mick mike molly nancy napoleon neal nick pete peter reese rick rita robin rory
    sally sam sammy saunders seth shelly smith sonny spencer stella steven tai ted terry toby tom tommy tony travis
    vera victor vincent wally walt walter willie willy wong yang""".split()
)
# ... and these, function words, numbers, titles and words no one is called, are no names at all.
NOT_NAMES = set(
    """ace add ah among an ante arent author babe baby bail ball ban bare basic bath bee beer begin best bilge blank
    blot bogus boner bore bozo brain bunk bus cant cap captain car cares cases champ chin colon colonel company con
    contractor convey council cousin dam date day deep den die din doctor doe dot drop dung early edit else emit en
    era es eta ever fed fee fit floor font foot forget forum fresh friend front fry funk gal gas gee general gent
    good governor grab grit gross grunt ha hand harm harsh hasty hence herd ho house huff hung icy immaculate infant
    innocent ion jail job judge junk kick kidney killer lad lady lament law lawless lawyer leech less link lips
    little lone loo loot lot low lower mad made major male mall man manly mans marry mas master mate math media
    medic mil moan moron more nail north om oral over pal pant para parent pastor paw peer pi pier plaza pop post
    power powers press raid read real reason red ring roach roll room sad said sales san sane sans senator server
    seven sever side sing sip sister small smart son such sur ta tab tank te the theres till tiny too topic toy
    true tu unknown unnamed us vial wage wall walls wash way weeks were west yank yen yoga zero""".split()
)
_LETTERS = re.compile(r"[a-z]+")


def fold(name: str) -> list[str]:
    """'Ramón de la Cruz' -> ['ramon', 'de', 'la', 'cruz']; scripts other than Latin give nothing."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("'", "")
    if len(ascii_name) < 0.8 * len(name):
        return []
    return [token for token in _LETTERS.findall(ascii_name) if len(token) > 1]


def faker_names() -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for locale in LOCALES:
        provider = importlib.import_module(f"{person.__name__}.{locale}").Provider
        for attribute in dir(provider):
            value = getattr(provider, attribute)
            if attribute.startswith("_") or not isinstance(value, dict | list | tuple):
                continue
            if "first_name" in attribute or "middle_name" in attribute:
                kind = "f"
            elif "last_name" in attribute:
                kind = "l"
            else:
                continue
            for name in value:
                if isinstance(name, str):
                    for token in fold(name):
                        kinds.setdefault(token, set()).add(kind)
    return kinds


def main() -> None:
    with gzip.open(Path(spellchecker.__file__).parent / "resources" / "en.json.gz") as f:
        frequencies = json.loads(f.read())
    ranked = [word.replace("'", "") for word, _ in sorted(frequencies.items(), key=lambda kv: -kv[1])]
    rank: dict[str, int] = {}
    for i, word in enumerate(ranked):
        if word.isalpha() and word.isascii():
            rank.setdefault(word, i)
    with open(Path(english_words.__file__).parent / "data" / "web2.pickle", "rb") as f:
        web2_lower = {word for word in pickle.load(f) if word.islower()}

    def everyday(word: str) -> bool:
        r = rank.get(word, 10**9)
        if word in PRIMARILY_NAMES:
            return False
        return word in MONTHS or r < VERY_FREQUENT_RANK or (r < FREQUENT_RANK and word in web2_lower)

    names = {name: kinds for name, kinds in faker_names().items() if name not in NOT_NAMES}
    lines = [f"{name}\t{''.join(sorted(kinds))}{'w' if everyday(name) else ''}" for name, kinds in names.items()]
    (OUT / "names.txt").write_text("\n".join(sorted(lines)) + "\n")

    words = {word for word, r in rank.items() if r < TOP_WORDS} | DOMAIN_WORDS
    for path in sorted((ROOT / "data" / "dst").glob("train*.jsonl")):  # the held-out files stay unseen
        for line in path.read_text().splitlines():
            record = json.loads(line)
            for key in ("text", "reference"):
                words.update(_LETTERS.findall((record.get(key) or "").lower().replace("'", "")))
    words = {word for word in words if word not in names and len(word) > 1}
    (OUT / "words.txt").write_text("\n".join(sorted(words)) + "\n")
    print(f"{len(lines)} names ({sum(1 for line in lines if line.endswith('w'))} everyday words), {len(words)} words")


if __name__ == "__main__":
    main()
