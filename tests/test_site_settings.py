"""The site's settings take effect, and it ships only what it uses.

Two kinds of tests:

- ``book/_ext/jb_settings.py`` (which merges the theme options Jupyter Book
  derives from ``_config.yml`` with the extra ones of ``sphinx: config:
  html_theme_options``) on configurations given here: no build needed.
- The built site under ``_build/html``, against what ``_config.yml`` says:
  the home page in the sidebar, which header buttons there are, the favicon,
  the extra theme options, no widget manager, the size limit. They are marked
  ``browser`` so that ``make test`` runs them after ``make site`` (the
  browser-tests stage); without a built site they are skipped.
"""

from __future__ import annotations

import copy
import pathlib
import sys
from urllib.parse import urljoin

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
SITE_LIMIT_MIB = 15

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import footer  # noqa: E402
import jb_settings  # noqa: E402

HTML = CONFIG.get("html") or {}
LAUNCH = CONFIG.get("launch_buttons") or {}
REPOSITORY = CONFIG.get("repository") or {}
EXTRA_THEME_OPTIONS = CONFIG["sphinx"]["config"].get("html_theme_options") or {}


def _toc_files(entries):
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        yield from _toc_files(entry.get("chapters", []) + entry.get("sections", []))
        for part in entry.get("parts", []):
            yield from _toc_files(part.get("chapters", []))


DOCS = [TOC["root"], *_toc_files(TOC.get("parts", []) + TOC.get("chapters", []))]
NOTEBOOKS = [doc for doc in DOCS if (ROOT / f"{doc}.ipynb").exists()]


# --- jb_settings on given configurations ------------------------------------


def _config(**changes):
    config = copy.deepcopy(CONFIG)
    for key, value in changes.items():
        config[key] = {**(config.get(key) or {}), **value}
    return config


def _options(config):
    extra = ((config.get("sphinx") or {}).get("config") or {}).get("html_theme_options") or {}
    options, conflicts = jb_settings.merge_theme_options(config, extra)
    assert conflicts == []
    return options


def test_theme_options_are_config_yml_plus_the_extra_ones():
    options = _options(CONFIG)
    assert options["home_page_in_toc"] == HTML.get("home_page_in_navbar", True)
    for key in ("use_download_button", "use_fullscreen_button"):
        if key in HTML:
            assert options[key] == HTML[key], key
    for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        assert options.get(key, False) == HTML.get(key, False), key
    for key, value in LAUNCH.items():
        assert options["launch_buttons"][key] == value, key
    for key, value in EXTRA_THEME_OPTIONS.items():
        assert options[key] == value, key


def test_the_book_is_launched_in_jupyterlab():
    assert LAUNCH["notebook_interface"] == "jupyterlab"
    assert _options(CONFIG)["launch_buttons"]["notebook_interface"] == "jupyterlab"


def test_launch_and_repository_settings_added_later_take_effect():
    config = _config(
        repository={"url": "https://github.com/example/fold-unfold", "branch": "main"},
        launch_buttons={"binderhub_url": "https://mybinder.org"},
        html={"use_repository_button": True, "use_fullscreen_button": True},
    )
    options = _options(config)
    assert options["repository_url"] == "https://github.com/example/fold-unfold"
    assert options["repository_branch"] == "main"
    assert options["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert options["use_repository_button"] is True
    assert options["use_fullscreen_button"] is True
    assert options["search_bar_text"] == EXTRA_THEME_OPTIONS["search_bar_text"]


def test_html_keys_jupyter_book_does_not_translate_reach_the_theme():
    options = _options(_config(html={"use_fullscreen_button": True, "use_sidenotes": True}))
    assert options["use_fullscreen_button"] is True
    assert options["use_sidenotes"] is True  # Sphinx warns if the theme has no such option
    assert "favicon" not in options  # Jupyter Book makes it html_favicon
    assert "home_page_in_navbar" not in options  # ... and this home_page_in_toc


def test_an_extra_option_contradicting_config_yml_is_reported_and_loses():
    config = _config(html={"use_fullscreen_button": False})
    options, conflicts = jb_settings.merge_theme_options(
        config, {"use_fullscreen_button": True, "search_bar_text": "Find"}
    )
    assert options["use_fullscreen_button"] is False
    assert options["search_bar_text"] == "Find"
    assert len(conflicts) == 1 and "use_fullscreen_button" in conflicts[0]


# --- the built site ----------------------------------------------------------


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").exists():
        pytest.skip(f"{SITE} is not built: run `make site` first (make test does)")
    return SITE


def _page(doc):
    from bs4 import BeautifulSoup

    return BeautifulSoup((SITE / f"{doc}.html").read_text(encoding="utf8"), "html.parser")


def _resolves_to(doc, href, target):
    base = f"http://site/{doc}.html"
    return urljoin(base, href).split("#")[0] == f"http://site/{target}.html" or (
        doc == target and href.startswith("#")
    )


@pytest.mark.browser
@pytest.mark.parametrize("doc", DOCS)
def test_home_page_is_in_the_sidebar_as_config_yml_says(site, doc):
    sidebar = _page(doc).select_one("nav.bd-docs-nav")
    assert sidebar is not None, "no sidebar navigation"
    home = [a for a in sidebar.select("a[href]") if _resolves_to(doc, a["href"], TOC["root"])]
    if HTML.get("home_page_in_navbar", True):  # Jupyter Book's default
        assert home, "the home page is missing from the sidebar"
    else:
        assert not home, "the home page is in the sidebar"


def _has(soup, selector):
    return soup.select_one(selector) is not None


@pytest.mark.browser
@pytest.mark.parametrize("doc", DOCS)
def test_header_buttons_are_the_ones_config_yml_asks_for(site, doc):
    soup = _page(doc)
    # sphinx-book-theme's defaults: download and fullscreen on, the rest off
    expected = {
        ".btn-fullscreen-button": HTML.get("use_fullscreen_button", True),
        ".dropdown-download-buttons": HTML.get("use_download_button", True),
        ".btn-source-repository-button": HTML.get("use_repository_button", False),
        ".btn-source-issues-button": HTML.get("use_issues_button", False),
        ".btn-source-edit-button": HTML.get("use_edit_page_button", False),
    }
    wrong = {sel: want for sel, want in expected.items() if _has(soup, sel) != bool(want)}
    assert wrong == {}, f"should be present (True) or absent (False): {wrong}"


@pytest.mark.browser
@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_launch_and_download_buttons_of_a_chapter(site, doc):
    soup = _page(doc)
    # sphinx-book-theme adds launch buttons when a provider (or thebe) is on
    # and it can tell the repository from repository: url
    providers = ("binderhub_url", "jupyterhub_url", "colab_url", "jupyterlite_url", "thebe")
    launch = any(LAUNCH.get(key) for key in providers) and bool(REPOSITORY.get("url"))
    assert _has(soup, ".dropdown-launch-buttons") == launch
    assert _has(soup, ".btn-launch-thebe") == bool(LAUNCH.get("thebe") and launch)
    if launch and (LAUNCH.get("binderhub_url") or LAUNCH.get("jupyterhub_url")):
        prefix = {"jupyterlab": "lab/tree", "classic": "tree"}[LAUNCH["notebook_interface"]]
        links = [a["href"] for a in soup.select(".dropdown-launch-buttons a[href]")]
        assert any(f"urlpath={prefix}/" in link for link in links), links
    if HTML.get("use_download_button", True):
        source = soup.select_one(".btn-download-source-button")
        assert source is not None and source["href"].endswith(".ipynb")
        assert (SITE / urljoin(f"{doc}.html", source["href"])).is_file()


@pytest.mark.browser
@pytest.mark.parametrize("doc", DOCS)
def test_extra_theme_options_and_favicon_are_in_force(site, doc):
    soup = _page(doc)
    if "search_bar_text" in EXTRA_THEME_OPTIONS:
        field = soup.select_one("input[name=q]")
        assert field is not None and field["placeholder"] == EXTRA_THEME_OPTIONS["search_bar_text"]
    icon = soup.select_one("link[rel~=icon]")
    assert icon is not None, "no favicon link: browsers then ask for /favicon.ico (a 404)"
    assert pathlib.Path(HTML["favicon"]).name == pathlib.Path(icon["href"]).name
    assert (SITE / urljoin(f"{doc}.html", icon["href"])).is_file()


@pytest.mark.browser
def test_no_widget_manager_or_requirejs_is_shipped_or_loaded(site):
    static = SITE / "_static"
    assert not (static / "html-manager").exists() and not (static / "requirejs").exists()
    for doc in DOCS:
        html = (SITE / f"{doc}.html").read_text(encoding="utf8")
        assert "embed-amd" not in html and "require.js" not in html, doc


@pytest.mark.browser
def test_site_is_at_most_the_size_limit(site):
    size = sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file())
    biggest = sorted(
        ((p.stat().st_size, str(p.relative_to(SITE))) for p in SITE.rglob("*") if p.is_file()),
        reverse=True,
    )[:5]
    assert size <= SITE_LIMIT_MIB * 2**20, (
        f"the site is {size / 2**20:.1f} MiB (limit {SITE_LIMIT_MIB} MiB); largest files: {biggest}"
    )


def test_the_footer_links_the_issue_tracker_only_when_a_repository_is_set():
    """Jupyter Book fills in its own repository when _config.yml sets none: the footer
    must not send a reader's mistake there."""
    options, _ = jb_settings.theme_options_from_config(CONFIG)
    assert footer.repository_url(options) == (REPOSITORY.get("url") or "")
    assert options.get("repository_url")  # Jupyter Book's own, which the footer ignores
    example = {**CONFIG, "repository": {"url": "https://example.org/me/book"}}
    options, _ = jb_settings.theme_options_from_config(example)
    assert footer.repository_url(options) == "https://example.org/me/book"
    html = footer.footer_html("../book/licence.html", "https://example.org/me/book/")
    assert 'href="https://example.org/me/book/issues"' in html
    assert 'href="../book/licence.html#sec-errata"' in html
    assert "issues" not in footer.footer_html("../book/licence.html", "")
