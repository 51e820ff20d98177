#!/usr/bin/env bash
# Copy the front-end assets that the site serves from node_modules/ into
# vendor/ (html_static_path in _config.yml). Nothing here is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf vendor
mkdir -p vendor/mathjax vendor/requirejs vendor/html-manager
cp -r node_modules/mathjax/es5/. vendor/mathjax/
cp node_modules/requirejs/require.js vendor/requirejs/require.js
cp -r node_modules/@jupyter-widgets/html-manager/dist/. vendor/html-manager/
# the site never needs the source maps or the CommonJS build of the manager
find vendor -name '*.map' -delete
echo "vendored: $(du -sh vendor | cut -f1) in vendor/"
