"""Give every notebook figure the alt text stored with its output.

A figure (``convlab.draw.Picture``) stores its description in the output's
metadata, ``{"image/png": {"alt": "..."}}``: where Jupyter front ends and
nbconvert look for it, and what the notebooks are committed with. myst-nb 1.4
reads only ``width`` and ``height`` from there
(``NbElementRenderer.render_image`` in ``myst_nb/core/render.py``); it takes
``alt`` from the cell's ``mystnb.image`` metadata or ``nb_render_image_options``
alone, so every figure's ``<img alt>`` was its file path.

This transform runs on each notebook's doctree after myst-nb has rendered it:
it reads the notebook's outputs and sets the ``alt`` of each image node from
the metadata of the output it was rendered from. An image and its output are
matched by the SHA-256 of the image bytes, i.e. the file myst-nb wrote
(identical images from outputs with different alts get them in order). The
stored description wins over a cell-level ``alt``, as myst-nb lets the stored
``width``/``height`` win over the cell's.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pathlib
from collections import defaultdict

import nbformat
from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

# myst-nb decodes these from base64 and writes the others as text
_BASE64_MIME_TYPES = {"image/png", "image/jpeg", "image/gif", "application/pdf"}


def _image_bytes(mime_type: str, data) -> bytes:
    """The bytes myst-nb writes for an output's ``mime_type`` data."""
    if mime_type in _BASE64_MIME_TYPES:
        return base64.b64decode(data)
    if isinstance(data, list):
        data = "".join(data)
    return os.linesep.join(data.splitlines()).encode("utf-8")


def stored_alt_texts(notebook) -> dict[str, list[str]]:
    """SHA-256 of each image output's bytes -> its stored alt texts, in order."""
    alts: dict[str, list[str]] = defaultdict(list)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            metadata = output.get("metadata") or {}
            for mime_type, data in (output.get("data") or {}).items():
                meta = metadata.get(mime_type)
                if not mime_type.startswith("image/") or not isinstance(meta, dict):
                    continue
                alt = meta.get("alt")
                if isinstance(alt, str) and alt.strip():
                    digest = hashlib.sha256(_image_bytes(mime_type, data)).hexdigest()
                    alts[digest].append(alt.strip())
    return dict(alts)


class StoredImageAltText(SphinxTransform):
    """Set the ``alt`` of a notebook's images from their outputs' metadata."""

    default_priority = 900  # after the parser and the standard transforms

    def apply(self, **kwargs) -> None:
        docname = self.env.docname
        source = pathlib.Path(self.env.doc2path(docname))
        if source.suffix != ".ipynb":
            return
        alts = stored_alt_texts(nbformat.read(source, as_version=4))
        if not alts:
            return
        used: dict[str, int] = defaultdict(int)
        for node in self.document.findall(nodes.image):
            digest = self._digest(node["uri"], docname)
            if digest in alts:
                texts = alts[digest]
                node["alt"] = texts[min(used[digest], len(texts) - 1)]
                used[digest] += 1

    def _digest(self, uri: str, docname: str) -> str | None:
        """SHA-256 of the image file, or None (not a local file)."""
        # myst-nb's files are named from the source folder (by now without
        # the leading "/"); other images relative to the document
        paths = [
            pathlib.Path(self.env.srcdir, uri.lstrip("/")),
            pathlib.Path(self.env.relfn2path(uri, docname)[1]),
        ]
        for path in paths:
            if path.is_file():
                return hashlib.sha256(path.read_bytes()).hexdigest()
        return None


def setup(app):
    app.add_transform(StoredImageAltText)
    return {
        "version": "1.0",
        "env_version": 1,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
