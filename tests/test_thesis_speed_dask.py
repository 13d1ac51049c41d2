"""The runner on a Dask cluster (``--scheduler``): a local cluster of two worker processes gives
the table of a one-process run. Skipped when dask.distributed is not installed (pip install -e .[dask])."""
import pytest

from minflow.thesis.cli import main
from minflow.thesis.pipeline import run_files, preset, read_table, run

distributed = pytest.importorskip("dask.distributed")

TINY = dict(dims=(4, 6), S=(1.0,), T=(0.0, 0.5), n_test=1000)  # 2 D x 3 families x 2 (s, t) = 12 sets


def _strip(table):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in table]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def executor(cluster):
    with distributed.Client(cluster) as client:
        yield client.get_executor(pure=False)


def test_a_dask_cluster_gives_the_table_of_one_process(executor, tmp_path):
    config = preset("tiny", **TINY)
    alone = read_table(run(config, tmp_path / "one", progress=False))
    on_dask = read_table(run(config, tmp_path / "dask", progress=False, executor=executor))
    assert _strip(on_dask) == _strip(alone)
    timing = run_files.read_json(str(tmp_path / "dask" / "run.json"))["timing"]
    assert timing["executor"] == "ClientExecutor" and timing["threads_per_worker"] is None
    assert timing["stage_seconds"]["logp_theta"] > 0   # the workers' stage seconds came back


def test_a_stopped_dask_run_resumes_to_the_same_table(executor, tmp_path):
    config = preset("tiny", **TINY)
    assert run(config, tmp_path, progress=False, executor=executor, stop_after=3) is None
    resumed = read_table(run(config, tmp_path, progress=False, executor=executor))
    alone = read_table(run(config, tmp_path / "one", progress=False))
    assert _strip(resumed) == _strip(alone)


def test_the_command_line_runs_on_the_scheduler(cluster, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["reproduce", "--preset", "tiny", "--dims", "4", "--n-test", "500", "--out", str(out),
                 "--scheduler", cluster.scheduler_address, "--no-figures", "--quiet", "--report", ""])
    assert code == 0
    printed = capsys.readouterr().out
    assert "time per stage" in printed and "logp_theta" in printed
    assert len(read_table(str(out / "table.csv"))) == 3 * 4   # tiny: S = (0.5, 1.0), T = (0.0, 0.5)
