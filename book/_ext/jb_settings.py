"""Make every setting of ``_config.yml`` the one in force (Jupyter Book 1.x).

Jupyter Book turns ``html:``, ``launch_buttons:`` and ``repository:`` of
``_config.yml`` into Sphinx's ``html_theme_options``, but two things get lost
on the way:

- a ``sphinx: config: html_theme_options`` in the same file *replaces* that
  dict (Jupyter Book updates the Sphinx config non-recursively), so the home
  page left the sidebar and the launch settings were dropped;
- Jupyter Book 1.0 does not translate the theme's own ``html:`` switches
  (``use_download_button``, ``use_fullscreen_button``, ...): they were read
  by nobody.

On ``config-inited`` (before the HTML builder copies the theme options) this
extension recomputes, with Jupyter Book's own code, the theme options that
``_config.yml`` implies; passes every ``html:`` key that Jupyter Book does not
translate to the theme (Sphinx warns about a key the theme does not know, so
a misspelt setting fails the ``-W`` build instead of doing nothing); and lays
the extra options of ``sphinx: config: html_theme_options`` (those
``_config.yml`` has no key for, such as ``search_bar_text``) on top. An extra
option that contradicts ``_config.yml`` is a warning, and ``_config.yml``
wins: each setting lives in one place.
"""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import yaml
from jupyter_book.config import get_final_config, yaml_to_sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

_PROBE = "__jb_settings_probe__"


def translated_by_jupyter_book(key: str, value: Any) -> bool:
    """Whether Jupyter Book turns ``html: {key: value}`` into some Sphinx setting."""

    def translate(html):
        try:
            return yaml_to_sphinx({"html": html})[0]
        except ValueError:  # e.g. a repository button without a repository url
            return None

    return translate({_PROBE: None, key: value}) != translate({_PROBE: None})


def theme_options_from_config(user_yaml: dict) -> tuple[dict, dict]:
    """The theme options that a Jupyter Book ``_config.yml`` implies.

    Returns ``(options, from_user)``: ``options`` is what Jupyter Book derives
    (its defaults, then ``html:``, ``launch_buttons:`` and ``repository:``)
    plus the ``html:`` keys it does not translate, passed to the theme as they
    are; ``from_user`` is the part set in ``user_yaml`` itself.
    """
    user_yaml = copy.deepcopy(user_yaml)
    # what Jupyter Book derives, as if sphinx.config set no html_theme_options
    sphinx_config = (user_yaml.get("sphinx") or {}).get("config") or {}
    sphinx_config.pop("html_theme_options", None)
    final, _ = get_final_config(
        user_yaml=user_yaml, cli_config={"latex_individualpages": False}, validate=False
    )
    options = final.get("html_theme_options") or {}
    from_user = yaml_to_sphinx(user_yaml)[0].get("html_theme_options") or {}
    passed = {
        key: value
        for key, value in (user_yaml.get("html") or {}).items()
        if not translated_by_jupyter_book(key, value)
    }
    return {**options, **passed}, {**from_user, **passed}


def merge_theme_options(user_yaml: dict, extra: dict) -> tuple[dict, list[str]]:
    """``_config.yml``'s theme options with ``extra`` on top, and the conflicts.

    A key of ``extra`` that ``_config.yml`` also sets, to another value, is a
    conflict: ``_config.yml``'s value is kept and the conflict reported.
    """
    options, from_user = theme_options_from_config(user_yaml)
    conflicts = []
    for key, value in extra.items():
        if key in from_user and options[key] != value:
            conflicts.append(
                f"html_theme_options[{key!r}] = {value!r} contradicts _config.yml "
                f"({options[key]!r}); _config.yml wins: set it in one place"
            )
            continue
        options[key] = value
    return options, conflicts


def _apply(app, config) -> None:
    path = pathlib.Path(app.confdir or app.srcdir) / "_config.yml"
    if not path.is_file():
        logger.warning("jb_settings: %s is missing; theme options left as they are", path)
        return
    user_yaml = yaml.safe_load(path.read_text(encoding="utf8")) or {}
    options, conflicts = merge_theme_options(user_yaml, dict(config.html_theme_options or {}))
    for message in conflicts:
        logger.warning("jb_settings: %s", message)
    config.html_theme_options = options


def setup(app):
    # before sphinx_book_theme's and pydata's handlers read the options
    app.connect("config-inited", _apply, priority=100)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
