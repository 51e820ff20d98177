"""convlab.bench: the timing helper's arguments and bookkeeping (no timing asserts)."""

import pytest

from convlab.bench import interleaved


def test_interleaved_calls_every_function_each_round():
    calls = {"a": 0, "b": 0}

    def make(name):
        def fn():
            calls[name] += 1

        return fn

    result = interleaved({"a": make("a"), "b": make("b")}, rounds=3, warmup=1)
    assert set(result) == {"a", "b"} and all(v >= 0 for v in result.values())
    assert calls == {"a": 8, "b": 8}  # (1 warm-up + 3 rounds) x (untimed + timed)
    interleaved({"a": make("a")}, rounds=2, warmup=0, steady=False, stat="min")
    assert calls["a"] == 10


@pytest.mark.parametrize(
    "kwargs, words",
    [(dict(rounds=0), "rounds=0 is invalid"), (dict(stat="mean"), "stat='mean' is not")],
)
def test_interleaved_rejects_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        interleaved({"a": lambda: None}, **kwargs)


def test_the_benchmark_report_runs(capsys):
    """benchmarks/ops.py's untimed report (memory and multiply-adds) runs on the
    current API; its timed rows run in `make bench`."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks/ops.py"
    spec = importlib.util.spec_from_file_location("bench_ops", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert len(module.jobs()) > 10
    module.sizes_report()
    out = capsys.readouterr().out
    assert "9.00x" in out and "4.00x" in out and "land on inserted or padded zeros" in out
