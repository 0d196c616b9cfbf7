#!/bin/sh
# Re-extract the app's UI strings ("messages" domain) into translations/messages.pot,
# then merge them into every translations/<locale>/LC_MESSAGES/messages.po, keeping
# the existing translations. New strings arrive with an empty msgstr (or a "fuzzy"
# guess to review); tests/views/test_i18n.py fails until each one is translated.
set -eu
cd "$(dirname "$0")/.."
PYBABEL=.venv/bin/pybabel

"$PYBABEL" extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs=.venv \
    --project=Passerelle --copyright-holder=Passerelle --width=100 \
    -o translations/messages.pot .
"$PYBABEL" update -i translations/messages.pot -d translations -D messages --width=100 --ignore-obsolete
