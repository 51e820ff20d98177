"""The general sentences of the prose pages (introduction, notation), each tried
against a wide grid.

Format of the docstrings: ``tests/claims_index.py``.
"""

import torch.nn.functional as F

import convlab


def test_convlab_unfold_fold_keep_torchs_signatures():
    """Notation: "convlab's ops keep torch's exact signatures"."""
    import inspect

    for ours, theirs in [(convlab.unfold, F.unfold), (convlab.fold, F.fold)]:
        a, b = inspect.signature(ours), inspect.signature(theirs)
        assert [(p.name, p.default) for p in a.parameters.values()] == [
            (p.name, p.default) for p in b.parameters.values()
        ]
