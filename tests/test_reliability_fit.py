"""``fit`` validates on what the user asked for (issue 24): a fraction that rounds to 0 rows is an error
naming ``validation``; ``validation=0`` watches a bounded sample of the training rows, not all of them."""
import numpy as np
import pytest

import minflow
from minflow import train


def _flow(dim=2):
    return minflow.RealNVP(dim, 2, (8,), rng=np.random.default_rng(0))


@pytest.mark.parametrize("n, fraction", [(10, 0.05), (100, 0.004), (3, 0.1)])
def test_a_fraction_that_rounds_to_no_rows_is_an_error(n, fraction):
    x = np.random.default_rng(1).standard_normal((n, 2))
    with pytest.raises(ValueError, match=f"validation: {fraction:g} of {n} points rounds to 0 rows"):
        minflow.fit(_flow(), x, rng=np.random.default_rng(2), epochs=1, batch_size=1, validation=fraction)


def test_the_smallest_fraction_that_holds_a_row_trains():
    x = np.random.default_rng(1).standard_normal((10, 2))
    hist = minflow.fit(_flow(), x, rng=np.random.default_rng(2), epochs=1, batch_size=1, validation=0.06)
    assert hist.settings["n_val"] == 1 and hist.settings["n_train"] == 9


def test_no_validation_watches_at_most_monitor_rows(monkeypatch):
    seen = []
    real = train._eval_nll
    monkeypatch.setattr(train, "_eval_nll", lambda flow, x: seen.append(len(x)) or real(flow, x))
    x = np.random.default_rng(1).standard_normal((5000, 2))
    hist = minflow.fit(_flow(), x, rng=np.random.default_rng(2), epochs=3, batch_size=500, validation=0)
    assert seen == [train.MONITOR_ROWS] * 4  # before training and after each epoch, never the 5000 rows
    assert hist.settings["n_train"] == 5000 and len(hist.val_nll) == 3 and np.all(np.isfinite(hist.val_nll))


def test_no_validation_on_a_small_set_watches_all_of_it(monkeypatch):
    seen = []
    real = train._eval_nll
    monkeypatch.setattr(train, "_eval_nll", lambda flow, x: seen.append(len(x)) or real(flow, x))
    x = np.random.default_rng(1).standard_normal((300, 2))
    minflow.fit(_flow(), x, rng=np.random.default_rng(2), epochs=2, batch_size=100, validation=0)
    assert seen == [300] * 3


def test_no_validation_still_stops_a_diverging_run():
    x = np.random.default_rng(1).standard_normal((4000, 2)) * 3
    with pytest.warns(RuntimeWarning, match="validation NLL"):
        hist = minflow.fit(_flow(), x, rng=np.random.default_rng(2), epochs=30, batch_size=100, lr=50.0,
                           schedule="constant", validation=0)
    assert hist.diverged and hist.stop_reason == "diverged"


@pytest.mark.parametrize("validation", [0.0, 0.1])
def test_fit_does_not_copy_the_training_set(validation):
    """The training rows are kept by index and each batch gathered from the data (issue 27): fit's peak
    memory stays below one copy of the training rows, which it used to make every call."""
    import tracemalloc

    x = np.random.default_rng(1).standard_normal((40000, 20))   # 6.4 MB
    flow = minflow.RealNVP(20, 2, (8,), rng=np.random.default_rng(0))
    tracemalloc.start()
    try:
        minflow.fit(flow, x, rng=np.random.default_rng(2), epochs=1, batch_size=500, validation=validation)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.75 * x.nbytes, f"fit allocated {peak / 1e6:.1f} MB at its peak for {x.nbytes / 1e6:.1f} MB of data"
