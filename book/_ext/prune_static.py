"""Leave out of the built site the theme files that no page requests.

sphinx-book-theme and pydata-sphinx-theme copy into ``_static/`` their source
maps (``*.map``, 3.4 MB: only a browser's developer tools fetch them) and
their gettext catalogs (``_static/locales/``, 0.7 MB: the theme translates its
words when the pages are built, from the catalogs in its own package). Once
the HTML is written, this removes both, and Font Awesome's JavaScript
(``scripts/fontawesome.js``, 1.4 MB), which book/_templates/layout.html no
longer loads: the theme's CSS and font draw the same icons. The site's own assets (vendor/, see
tools/vendor_assets.sh) carry no source maps.
"""

from __future__ import annotations

import pathlib
import shutil

from sphinx.util import logging

logger = logging.getLogger(__name__)

UNREQUESTED = ("**/*.map", "locales", "scripts/fontawesome.js")


def prune(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = pathlib.Path(app.outdir, "_static")
    removed = 0
    for pattern in UNREQUESTED:
        for path in sorted(static.glob(pattern), reverse=True):
            removed += 1
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    logger.info("prune_static: removed %d unrequested files or folders from _static", removed)


def setup(app):
    app.connect("build-finished", prune)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
