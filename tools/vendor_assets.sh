#!/usr/bin/env bash
# Copy the front-end assets that the site's pages request from node_modules/
# into vendor/ (html_static_path in _config.yml, served as _static/). Nothing
# here is committed. Only what a page can load is shipped: the whole MathJax
# distribution is 24 MB, this is about 4.5 MB of it.
#
# MathJax 3 (mathjax_path in _config.yml; paths below are under es5/):
# - tex-chtml.js: the one component every page with a formula loads: TeX
#   input (base, ams, newcommand, require, autoload, ...), CommonHTML output,
#   the contextual menu and the assistive MathML that screen readers read.
# - output/chtml/fonts/woff-v2/: the CommonHTML fonts; tex-chtml.js fetches
#   each one (Main, Math-Italic, Size1, ...) when a formula first needs it.
# - input/tex/extensions/: the TeX packages that tex-chtml.js fetches when a
#   formula uses one (autoload: \cancel, \color, \boxed, ...; \require{...}).
# - What the menu loads when a reader picks one of its settings, which MathJax
#   keeps in localStorage and applies on every later page of the same origin:
#   if a file were missing, no formula on any page would typeset any more.
#   output/svg.js and output/svg/fonts/tex.js (Math Settings > Math Renderer >
#   SVG); a11y/*.js, input/mml.js and sre/mathmaps/{base,en,nemeth}.json
#   (Accessibility > explorer, speech in English, Nemeth braille, collapsible
#   math). The speech rules of the 11 other languages (3 MB) are left out: a
#   reader who picks one gets English speech (SRE logs "Unable to load
#   locale") and the math still typesets.
#
# Not shipped: axe-core (package.json's devDependencies), which only the
# browser tests inject into pages from node_modules/ (tests/browser/test_a11y.py
# checks that no axe*.js is in the built site).
#
# Not shipped (and not installed): RequireJS and the Jupyter widgets HTML
# manager. No notebook stores widget state (`make outputs` removes it) and the site
# shows each widget's self-contained animation (nb_mime_priority_overrides),
# so no page would load them; nb_ipywidgets_js is {} in _config.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/mathjax/es5
dst=vendor/mathjax
rm -rf vendor
mkdir -p "$dst"/output/chtml/fonts "$dst"/output/svg/fonts "$dst"/input/tex "$dst"/a11y \
    "$dst"/sre/mathmaps
cp "$src"/tex-chtml.js "$dst"/
cp -r "$src"/output/chtml/fonts/woff-v2 "$dst"/output/chtml/fonts/
cp -r "$src"/input/tex/extensions "$dst"/input/tex/
cp "$src"/output/svg.js "$dst"/output/
cp "$src"/output/svg/fonts/tex.js "$dst"/output/svg/fonts/
cp "$src"/input/mml.js "$dst"/input/
cp "$src"/a11y/*.js "$dst"/a11y/
cp "$src"/sre/mathmaps/{base,en,nemeth}.json "$dst"/sre/mathmaps/
# the site never needs source maps
find vendor -name '*.map' -delete
echo "vendored: $(du -sh vendor | cut -f1) in vendor/"
