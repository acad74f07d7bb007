"""Fill empty msgstr entries of a .po catalogue from a JSON object {msgid: msgstr}.

    python scripts/po_fill.py dealership/locale/zh_Hans/LC_MESSAGES/django.po < zh.json

Prints the msgids still untranslated, so a catalogue can be completed in rounds.
For plural entries give a list [singular, plural] or one string (Chinese has one form).
"""

import json
import sys

import polib


def main(path: str) -> int:
    translations = json.load(sys.stdin)
    catalogue = polib.pofile(path)
    for entry in catalogue:
        if entry.obsolete:
            continue
        if entry.msgid in translations:
            value = translations[entry.msgid]
            if entry.msgid_plural:
                forms = value if isinstance(value, list) else [value]
                entry.msgstr_plural = dict(enumerate(forms[:1]))
            else:
                entry.msgstr = value
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    catalogue.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    catalogue.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    catalogue.save(path)
    missing = [e.msgid for e in catalogue.untranslated_entries() if not e.obsolete]
    missing += [e.msgid for e in catalogue.fuzzy_entries()]
    for msgid in missing:
        print(json.dumps(msgid, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
