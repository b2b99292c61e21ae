#!/usr/bin/env bash
# The web UI's catalogues: extract the texts of api/web (code and templates) and the library's messages
# (matcher.messages.Message("...") in matcher/, api/web and the request models of api/schemas.py and
# api/routers, keyword -k Message) and merge them into the
# Dutch and English .po files (new texts come in untranslated; translate them in
# api/web/locale/nl/LC_MESSAGES/messages.po). No compile step: the app compiles the .po files when it
# starts (api/web/i18n.py). tests/test_i18n.py fails while a text is missing or untranslated.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(dirname "$(command -v python)")}
pot=$(mktemp --suffix=.pot)
trap 'rm -f "$pot"' EXIT
"$BIN/pybabel" -q extract -F api/web/babel.cfg -k Message --no-location --sort-output -o "$pot" api/web api/schemas.py api/routers matcher
for lang in nl en; do
  po=api/web/locale/$lang/LC_MESSAGES/messages.po
  width=$([ "$lang" = nl ] && echo 120 || echo 76)  # the Dutch file is edited by hand: long lines read better
  if [ -f "$po" ]; then
    "$BIN/pybabel" -q update -i "$pot" -l "$lang" -o "$po" --no-fuzzy-matching --ignore-obsolete -w "$width"
  else
    "$BIN/pybabel" -q init -i "$pot" -l "$lang" -o "$po"
  fi
done
