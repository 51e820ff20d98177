"""The ways to run the book without installing it: Colab (each chapter's install
cell), Binder or a JupyterHub image (binder/, what repo2docker reads), and the
site's launch links (``_config.yml``'s launch settings).

repo2docker, Binder, Colab and a hub cannot run here (no network, no Docker):
these tests check what can be checked, and build a venv from binder/'s pins
that runs every chapter."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from importlib import metadata

import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PLACEHOLDER = "https://github.com/OWNER/fold-and-unfold"
INSTALL = re.compile(r'%pip install --quiet "convlab @ git\+(?P<url>[^"]+)"')
BUILD_AND_TEST_TOOLS = {
    "jupyter-book",
    "sphinx",
    "sphinx-exercise",
    "myst-nb",
    "pytest",
    "nbval",
    "hypothesis",
    "playwright",
    "ruff",
    "nbclient",
}


def _install_cell(path):
    cells = json.loads(path.read_text())["cells"]
    first = next(c for c in cells if c["cell_type"] == "code")
    return first


# --------------------------------------------------------------------------
# Colab: every chapter's first cell installs convlab where it is missing
# --------------------------------------------------------------------------
def test_every_chapter_starts_with_the_same_install_cell():
    """The same cell in every chapter: an import that only a missing convlab turns into
    a pip install, from the book's repository (the placeholder until _config.yml's
    repository.url is set; then the two must agree). The site leaves it out."""
    sources = {p.name: "".join(_install_cell(p)["source"]) for p in CHAPTERS}
    assert len(set(sources.values())) == 1, sources
    source = next(iter(sources.values()))
    lines = [line for line in source.splitlines() if not line.startswith("#")]
    assert lines[:3] == ["try:", "    import convlab", "except ModuleNotFoundError:"]
    url = INSTALL.search(source).group("url")
    assert url == ((CONFIG.get("repository") or {}).get("url") or PLACEHOLDER)
    for path in CHAPTERS:
        assert _install_cell(path)["metadata"].get("tags") == ["remove-cell"]
        assert _install_cell(path)["outputs"] == []  # here convlab is installed: nothing ran


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A venv that has torch, IPython and everything else of the book's environment,
    but no convlab: a directory of links to the book's site-packages, less convlab's
    files, on its path."""
    work = tmp_path_factory.mktemp("bare")
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    deps = work / "deps"
    deps.mkdir()
    site = pathlib.Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if "convlab" in entry.name or entry.suffix == ".pth":
            continue
        (deps / entry.name).symlink_to(entry)
    python = work / "venv" / "bin" / "python"
    venv_site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (pathlib.Path(venv_site) / "book-deps.pth").write_text(str(deps) + "\n")
    gone = subprocess.run(
        [python, "-c", "import convlab"], capture_output=True, text=True, cwd=work
    )
    assert "No module named 'convlab'" in gone.stderr  # convlab is hidden
    return python, pathlib.Path(venv_site)


def test_the_install_cell_installs_convlab_where_it_is_missing(bare_python, tmp_path):
    """Run the cell (with IPython, as Colab does) in a Python without convlab, the
    repository's URL replaced by a local stand-in (this checkout's git repository):
    convlab is installed and imports; run again, the cell does nothing."""
    python, venv_site = bare_python
    if not (ROOT / ".git").exists():
        pytest.skip("the stand-in for the repository is this checkout's git repository")
    source = "".join(_install_cell(CHAPTERS[0])["source"])
    # file://localhost: pip 23 refuses a git+file URL with no host
    stand_in = f"git+file://localhost{ROOT}"
    source = INSTALL.sub(f'%pip install --quiet "convlab @ {stand_in}"', source)
    script = tmp_path / "run_cell.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from IPython.core.interactiveshell import InteractiveShell
            shell = InteractiveShell.instance()
            for run in (1, 2):
                print(f"--- run {{run}}", flush=True)
                shell.run_cell({source!r}).raise_error()
            import convlab
            print("convlab from", convlab.__file__)
            print("conv2d", convlab.conv2d.__name__)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run([python, script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    first, second = done.stdout.split("--- run 2")
    assert "restart the kernel" in first.lower()  # %pip ran, and said so
    assert "restart" not in second.lower()  # the second time, nothing was installed
    assert f"convlab from {venv_site}" in second


# --------------------------------------------------------------------------
# binder/: what repo2docker reads
# --------------------------------------------------------------------------
def _binder_requirements():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    options = [line for line in lines if line.startswith("-")]
    reqs = [Requirement(line) for line in lines if line.strip() and line[0] not in "#-"]
    return options, reqs


def _book_pins():
    pins = {}
    for name in ("requirements.txt", "constraints.txt"):
        for line in (ROOT / name).read_text().splitlines():
            if "==" in line and not line.startswith(("#", "-")):
                req = Requirement(line)
                pins[metadata_name(req.name)] = str(req.specifier)
    return pins


def metadata_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_binder_holds_the_runtime_with_the_books_pins():
    folder = ROOT / "binder"
    assert sorted(p.name for p in folder.iterdir()) == [
        "postBuild",
        "requirements.txt",
        "runtime.txt",
    ]
    assert (folder / "runtime.txt").read_text().strip() == "python-3.11"
    post = (folder / "postBuild").read_text()
    assert os.access(folder / "postBuild", os.X_OK) and post.startswith("#!/bin/bash")
    assert "pip install --no-deps --no-cache-dir ." in post
    options, reqs = _binder_requirements()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in options
    assert "-c ../constraints.txt" in options
    pins = _book_pins()
    for req in reqs:
        name = metadata_name(req.name)
        assert str(req.specifier).startswith("=="), req
        assert name not in BUILD_AND_TEST_TOOLS, req
        if name != "nbgitpuller":  # only the hub needs it: not in the book's own venv
            assert pins.get(name) == str(req.specifier), (req, pins.get(name))
    # everything convlab and the chapters import comes with these packages
    wanted = _imported_distributions()
    closure = _dependency_closure({metadata_name(r.name) for r in reqs})
    assert wanted and wanted <= closure, wanted - closure


def _imported_distributions() -> set[str]:
    import ast

    modules = set()
    sources = [p.read_text() for p in (ROOT / "convlab").glob("*.py")]
    for path in CHAPTERS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                sources.append(TransformerManager().transform_cell(src))  # %pip: a call
    for src in sources:
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    owners = metadata.packages_distributions()
    return {
        metadata_name(owners[m][0])
        for m in modules
        if m not in sys.stdlib_module_names and m != "convlab"
    }


def _dependency_closure(names: set[str]) -> set[str]:
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(metadata_name(req.name))
    return seen


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_venv_from_binders_pins_runs_every_chapter(tmp_path):
    """What repo2docker does, short of Docker: a venv, pip install -r
    binder/requirements.txt, then postBuild; every chapter runs in it top to bottom."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    pip += ["--disable-pip-version-check"]
    env = {**os.environ, "PIP_RETRIES": "0", "PIP_TIMEOUT": "5"}  # no PyTorch index here
    env = {k: v for k, v in env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    subprocess.run([*pip, "-r", "requirements.txt"], cwd=ROOT / "binder", check=True, env=env)
    subprocess.run(
        ["bash", "binder/postBuild"],
        cwd=ROOT,
        check=True,
        env={**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"},
    )
    script = textwrap.dedent(
        """
        import sys, nbformat
        from nbclient import NotebookClient
        for path in sys.argv[1:]:
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=900, kernel_name="binder-venv").execute()
            errors = [o for c in nb.cells for o in c.get("outputs", [])
                      if o.get("output_type") == "error"]
            assert not errors, (path, errors[0].get("evalue"))
            print("ran", path)
        """
    )
    # nbclient drives the venv's own kernel (ipykernel is a runtime pin); nbclient
    # itself is a test tool, so the driver runs here, the kernel there
    kernels = tmp_path / "kernels"
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "ipykernel", "install", "--name", "binder-venv"]
        + ["--prefix", str(kernels)],
        check=True,
        capture_output=True,
    )
    run_env = {**os.environ, "JUPYTER_PATH": str(kernels / "share" / "jupyter")}
    work = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", work)
    done = subprocess.run(
        [sys.executable, "-c", script, *[str(work / p.name) for p in CHAPTERS]],
        capture_output=True,
        text=True,
        env=run_env,
        cwd=work,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.count("ran ") == len(CHAPTERS)


# --------------------------------------------------------------------------
# the site's launch links, once _config.yml's launch settings are set
# --------------------------------------------------------------------------
EXAMPLE = dict(
    repository={"url": "https://github.com/example-org/fold-and-unfold", "branch": "main"},
    binderhub_url="https://mybinder.org",
    jupyterhub_url="https://hub.example.edu",
    colab_url="https://colab.research.google.com",
)


def test_launch_settings_once_set_make_working_links(tmp_path):
    """Build a copy of the book with example values in _config.yml: every chapter gets
    a Binder, a JupyterHub (nbgitpuller) and a Colab link to its notebook, in
    JupyterLab, and the footer links the repository's issues. (With the values empty,
    as committed, nothing points anywhere: tests/browser/test_site.py.)"""
    if not (ROOT / "vendor" / ".installed").exists():
        pytest.skip("the site needs the front-end assets: make setup")
    copy = tmp_path / "book"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "node_modules",
            "_build",
            "student",
            "assignments",
            ".hypothesis",
            "__pycache__",
            "*.egg-info",
        ),
    )
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["launch_buttons"]["notebook_interface"] == "jupyterlab"
    config["repository"] = EXAMPLE["repository"]
    for key in ("binderhub_url", "jupyterhub_url", "colab_url"):
        assert not config["launch_buttons"][key]  # committed empty: the site stays offline
        config["launch_buttons"][key] = EXAMPLE[key]
    (copy / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    jupyter_book = pathlib.Path(sys.executable).parent / "jupyter-book"
    done = subprocess.run(
        [jupyter_book, "build", ".", "--builder", "html", "-W", "-n", "--keep-going"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    repo = "example-org/fold-and-unfold"
    for path in CHAPTERS:
        html = (copy / "_build" / "html" / "notebooks" / f"{path.stem}.html").read_text()
        nb = f"notebooks/{path.name}"
        for link in (
            f"https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/{nb}",
            "https://hub.example.edu/hub/user-redirect/git-pull?"
            f"repo=https%3A//github.com/{repo}&urlpath=lab/tree/fold-and-unfold/{nb}"
            "&branch=main",
            f"https://colab.research.google.com/github/{repo}/blob/main/{nb}",
            f"https://github.com/{repo}/issues",
        ):
            assert f'href="{link}"' in html, (path.name, link)
