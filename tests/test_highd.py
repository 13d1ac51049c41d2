"""The higher-dimension section: per-D numbers from the quick and the high seeds, trends worded from them."""
import pytest

from minflow.thesis.documents import highd
from minflow.thesis.pipeline.config import preset
from minflow.thesis.pipeline.runner import run


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("repro")
    for name, dims in (("quick", (4, 6)), ("high", (8,))):
        for k in (0, 1):
            run(preset("tiny", dims=dims, seed=k), root / name / f"seed{k}", progress=False)
    return root


def test_the_high_preset_is_the_quick_one_at_higher_d():
    high, quick = preset("high"), preset("quick")
    assert high.dims == (200, 500) and high.n_test == quick.n_test
    assert high.model == quick.model and high.training == quick.training


def test_per_dim_collects_every_seed_of_both_presets(root):
    data, presets = highd.per_dim(str(root))
    assert list(data) == [4, 6, 8] and presets["quick"]["dims"] == [4, 6] and presets["high"] == {"seeds": 2, "dims": [8], "n_test": 2000}
    assert all(len(v) == 2 for d in data for v in data[d].values())
    assert 0.0 <= data[8]["tnr_theta_perturbed"][0] <= 1.0


def test_markdown_words_each_trend_from_the_numbers(root, monkeypatch):
    lines = highd.markdown(str(root))
    text = "\n".join(lines)
    assert "| quantity | D = 4 | D = 6 | D = 8 |" in text and "nan" not in text
    trends = [line for line in lines if line.startswith("- ") and not line.startswith("- The fit")]
    assert len(trends) == 3
    fit = [line for line in lines if line.startswith("- The fit of these models against our own bar")]
    assert len(fit) == 1 and "D = 8:" in fit[0] and "within the bar in" in fit[0]
    assert all(("as the thesis's trend" in t) != ("unlike the thesis's trend" in t) for t in trends)
    assert highd._direction([1, 2, 3]) == "rises" and highd._direction([3, 2, 1]) == "falls"
    assert highd._direction([1, 3, 2]) == "is not monotone"


def test_no_section_before_the_high_preset_has_run(tmp_path):
    assert highd.markdown(str(tmp_path)) == []
