"""The footer of every page: the licences of the book, and where to report a mistake.

sphinx-book-theme prints the ``extra_footer`` theme option as it is, the same
HTML on every page; a link to the licence page must be relative to each page,
so it is written here, per page, with Sphinx's ``pathto``. When ``_config.yml``
sets ``repository: url``, the footer also links to the repository's issues.
"""

from __future__ import annotations

import pathlib

import yaml

CC_BY = "https://creativecommons.org/licenses/by/4.0/"


def footer_html(licence_href: str, repository_url: str = "") -> str:
    """The footer: CC BY 4.0 for text and figures, MIT for code, the errata link."""
    report = (
        f' <a href="{repository_url.rstrip("/")}/issues">Report it in the issue tracker</a>.'
        if repository_url
        else ""
    )
    return (
        '<p class="cx-footer">Text and figures: '
        f'<a href="{CC_BY}" rel="license">CC BY 4.0</a>; code: MIT '
        f'(<a href="{licence_href or "#sec-licence-reuse"}">licence</a>). '
        f'Found a mistake? <a href="{licence_href}#sec-errata">Errata</a>.{report}</p>'
    )


def repository_url(theme_options: dict) -> str:
    """The repository that ``_config.yml`` sets (``repository: url``), or "". Jupyter
    Book passes it to the theme, and fills in its own repository when the key is
    empty: that is not where to report a mistake in this book."""
    import jupyter_book

    defaults = pathlib.Path(jupyter_book.__file__).parent / "default_config.yml"
    default = (yaml.safe_load(defaults.read_text()).get("repository") or {}).get("url")
    url = (theme_options or {}).get("repository_url") or ""
    return "" if url == default else url


def _page_footer(app, pagename, templatename, context, doctree):
    url = repository_url(app.config.html_theme_options)
    href = context["pathto"]("book/licence")
    # on the licence page itself pathto gives "#": its own anchors need no page
    context["theme_extra_footer"] = footer_html("" if href.startswith("#") else href, url)


def setup(app):
    app.connect("html-page-context", _page_footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
