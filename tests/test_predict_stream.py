"""photoz predict at catalogue scale: chunks written as parts and joined, kill -9
and resume, refusal of another prediction's parts, damaged parts, the compact
catalogue (FITS, Parquet) and float16 PDFs."""

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from scipy.special import ndtr

from multimodal_photoz import compact_catalogue, metrics, prediction_parts, predictions
from multimodal_photoz.cli import console
from multimodal_photoz.config import load_run_config
from multimodal_photoz.data import open_dataset, write_dataset
from multimodal_photoz.predict import catalogue_columns, members_of, normalized, predictor_for
from multimodal_photoz.train import make_mesh
from test_reliability_predict import error_line

SCALE = {"zeropoint_ab": 27.0, "pixel_scale_arcsec": 0.168}
TRAIN = ["--width", "0.125", "--n-bins", "10", "--z-max", "1.5", "--batch-size", "4",
         "--steps", "4", "--checkpoint-every", "2", "--eval-batch-size", "4", "--seeds", "1",
         "--folds", "2"]


def make_data(path, n, seed, first_id):
    """n objects of 8x8 griz pixels whose brightness falls with z."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.2, n).astype(np.float32)
    images = rng.normal(0, 1, (n, 8, 8, 4)) + (3.0 / (0.2 + z))[:, None, None, None]
    return str(write_dataset(path, images=images.astype(np.float32), z_spec=z,
                             ebv=rng.uniform(0, 0.05, n).astype(np.float32),
                             ids=np.arange(first_id, first_id + n, dtype=np.int64), bands="griz",
                             name="t", metadata=SCALE,
                             mags={"i": rng.uniform(18, 25, n).astype(np.float32)}))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One finished two-member run and a data set of 40 new objects to predict."""
    root = tmp_path_factory.mktemp("stream")
    workdir = str(root / "run")
    train = make_data(str(root / "train"), 24, 0, 0)
    assert console(["train", "--data", train, "--workdir", workdir, *TRAIN]) == 0
    return {"root": root, "workdir": workdir, "data": make_data(str(root / "new"), 40, 1, 1000)}


def predict(run, out, *flags, data=None):
    return console(["predict", "--run", run["workdir"], "--data", data or run["data"],
                    "--out", str(out), *flags])


def assert_same_file(a, b):
    """The same datasets (names, dtypes, values) and attributes (but the time written)."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert sorted(fa) == sorted(fb)
        for name in fa:
            assert fa[name].dtype == fb[name].dtype, name
            assert np.array_equal(fa[name][()], fb[name][()]), name
        attrs = [{k: v for k, v in f.attrs.items() if k != "created_utc"} for f in (fa, fb)]
        assert attrs[0].keys() == attrs[1].keys()
        for key in attrs[0]:
            assert attrs[0][key] == attrs[1][key], key


def stamps(folder):
    """Inode and modification time of every part in ``folder``."""
    return {name: (os.stat(os.path.join(folder, name)).st_ino,
                   os.stat(os.path.join(folder, name)).st_mtime_ns)
            for name in os.listdir(folder) if name.startswith("chunk-")}


@pytest.fixture
def keep_parts(monkeypatch):
    """The parts folder stays after the join, to be looked at."""
    monkeypatch.setattr(prediction_parts, "remove", lambda folder: None)


# -- (a) chunks ------------------------------------------------------------------------

def test_chunked_output_equals_unchunked_and_the_in_memory_writer(run, tmp_path, capsys):
    one, three, rounded = (tmp_path / f"{k}.h5" for k in ("one", "three", "rounded"))
    assert predict(run, one) == 0
    assert predict(run, three, "--chunk-size", "16") == 0
    assert predict(run, rounded, "--chunk-size", "6") == 0  # a multiple of the batch, 4
    out = capsys.readouterr().out
    assert "40 objects" in out and "1 chunks of 16384: 1 predicted now, 0 resumed" in out
    assert "3 chunks of 16: 3 predicted now, 0 resumed" in out
    assert "5 chunks of 8: 5 predicted now, 0 resumed" in out
    assert_same_file(one, three)
    assert_same_file(one, rounded)
    assert not os.path.exists(str(three) + ".parts")
    # what photoz predict wrote before it streamed: everything in memory, one write
    config, _ = load_run_config(run["workdir"])
    source = open_dataset(run["data"])
    members = members_of(config, range(config.ensemble.n_folds))
    result = predictor_for(run["workdir"], config, members, source.stamp_size,
                           make_mesh()).predict(source, np.arange(len(source)), run["data"])
    old = predictions.write_predictions(
        tmp_path / "old.h5", ids=result["id"], fold=np.full(40, -1, np.int32),
        pdf=normalized(result["pdf"]), bin_edges=config.model.bin_edges(),
        z_regression=result["z_regression"].astype(np.float32),
        **catalogue_columns(source.catalogue(), np.arange(40), source.bands, config.model.bands),
        config=config.to_dict(), bands="".join(config.model.bands), n_members=len(members),
        attrs={"run": os.path.abspath(run["workdir"]), "data": run["data"]})
    assert_same_file(old, one)
    pred = predictions.read_predictions(three)
    assert pred["id"].tolist() == list(range(1000, 1040)) and (pred["fold"] == -1).all()


# -- (b) kill -9 and resume ------------------------------------------------------------

def test_kill_9_then_the_same_command_resumes_without_recomputing(run, tmp_path, capsys,
                                                                  keep_parts):
    data = make_data(str(tmp_path / "many"), 120, 2, 5000)
    flags = ["--chunk-size", "4"]  # 30 chunks
    reference, out = tmp_path / "reference.h5", tmp_path / "out.h5"
    assert predict(run, reference, *flags, data=data) == 0
    folder = prediction_parts.parts_folder(str(out))
    command = ["predict", "--run", run["workdir"], "--data", data, "--out", str(out), *flags]
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PHOTOZ_NO_PROGRESS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "multimodal_photoz.cli", *command], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if os.path.isdir(folder) and any(n.startswith("chunk-") for n in os.listdir(folder)):
            break
        time.sleep(0.002)
    assert proc.poll() is None, "photoz predict ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done = stamps(folder)
    assert 1 <= len(done) < 30, sorted(done)
    capsys.readouterr()
    assert console(command) == 0
    assert (f"30 chunks of 4: {30 - len(done)} predicted now, {len(done)} resumed"
            in capsys.readouterr().out)
    assert {name: stamps(folder)[name] for name in done} == done  # not written again
    assert_same_file(reference, out)


# -- (c) another prediction's parts ----------------------------------------------------

def test_resume_with_another_chunk_size_dtype_or_data_is_refused(run, tmp_path, capsys,
                                                                 keep_parts):
    out = tmp_path / "p.h5"
    folder = prediction_parts.parts_folder(str(out))
    assert predict(run, out, "--chunk-size", "8") == 0
    os.remove(out)  # as if killed while joining
    before = stamps(folder)
    other = make_data(str(tmp_path / "other"), 40, 3, 1000)
    for flags, data, words in [
            (["--chunk-size", "16"], None, "chunk_size 8 in the folder, 16 now"),
            (["--chunk-size", "8", "--pdf-dtype", "float16"], None,
             "options.pdf_dtype 'float32' in the folder, 'float16' now"),
            (["--chunk-size", "8"], other, "data.path")]:
        assert predict(run, out, *flags, data=data) == 2
        line = error_line(capsys)
        assert folder in line and words in line and "delete" in line, line
    assert stamps(folder) == before and not out.exists()


def test_damaged_parts_are_computed_again_never_trusted(run, tmp_path, capsys, keep_parts):
    reference, out = tmp_path / "reference.h5", tmp_path / "out.h5"
    assert predict(run, reference, "--chunk-size", "8") == 0
    assert predict(run, out, "--chunk-size", "8") == 0
    os.remove(out)
    folder = prediction_parts.parts_folder(str(out))
    truncated, flipped, tampered = (prediction_parts.part_path(folder, k) for k in (1, 2, 3))
    with open(truncated, "r+b") as f:
        f.truncate(os.path.getsize(truncated) // 2)
    with h5py.File(flipped, "r") as f:  # a byte of the PDFs' compressed data
        info = f["pdf"].id.get_chunk_info(0)
    with open(flipped, "r+b") as f:
        f.seek(info.byte_offset + info.size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    with h5py.File(tampered, "r+") as f:  # valid checksums, PDFs that sum to 2
        f["pdf"][0] = 2 * f["pdf"][0]
    kept = {name: stamp for name, stamp in stamps(folder).items()
            if name in ("chunk-000000.h5", "chunk-000004.h5")}
    capsys.readouterr()
    assert predict(run, out, "--chunk-size", "8") == 0
    # the truncated part is found at the start; the flipped one (checksum) and the
    # tampered one (predictions checks) when joined
    assert "5 chunks of 8: 3 predicted now, 2 resumed" in capsys.readouterr().out
    assert {name: stamps(folder)[name] for name in kept} == kept
    assert_same_file(reference, out)


# -- (d) the compact catalogue ---------------------------------------------------------

def read_table(path):
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return {name: table.column(name).to_numpy() for name in table.column_names}
    from astropy.table import Table

    table = Table.read(path, hdu=1)
    return {name: np.asarray(table[name]) for name in table.colnames}


@pytest.mark.parametrize("suffix", [".fits", ".parquet"])
@pytest.mark.parametrize("ids", [np.array([7, 2**53 + 1, 9]), np.array(["a1", "bb_22", "c"])])
def test_catalogue_columns_by_hand(tmp_path, suffix, ids):
    edges = np.linspace(0.0, 2.0, 5)  # bins of 0.5
    pdf = np.array([[0, 1, 0, 0],       # all in [0.5, 1]
                    [0.5, 0, 0, 0.5],   # half in [0, 0.5], half in [1.5, 2]
                    [1, 0, 0, 0]], np.float32)
    expected = {
        "z_median": [0.75, 0.5, 0.25], "z_mean": [0.75, 1.0, 0.25], "z_mode": [0.75, 0.25, 0.25],
        # 16th / 84th percentiles, probability uniform in a bin
        "z_lo68": [0.5 + 0.16 * 0.5, 0.32 * 0.5, 0.16 * 0.5],
        "z_hi68": [0.5 + 0.84 * 0.5, 1.5 + 0.68 * 0.5, 0.84 * 0.5],
        # mass within z_median +- 0.1 (1 + z_median): windows 0.35, 0.30, 0.25 wide
        "odds": [0.35 / 0.5, 0.15 / 0.5 * 0.5, 0.25 / 0.5]}
    estimates = predictions.point_estimates(pdf, edges)
    columns = {"id": ids, **estimates, "z_regression": np.float32([0.1, 0.2, 0.3]),
               **compact_catalogue.summary_columns(pdf, edges, estimates["z_median"])}
    path = str(tmp_path / f"cat{suffix}")
    with compact_catalogue.catalogue_writer(path, 3, predictions.id_storage_dtype(ids)) as table:
        table.write({k: v[:2] for k, v in columns.items()})  # in two blocks
        table.write({k: v[2:] for k, v in columns.items()})
    back = read_table(path)
    assert list(back) == list(compact_catalogue.COLUMNS)
    assert back["id"].astype(ids.dtype).tolist() == ids.tolist()
    for name, values in expected.items():
        assert (back[name].dtype.kind, back[name].dtype.itemsize) == ("f", 4), name  # float32
        np.testing.assert_allclose(back[name], values, rtol=1e-6, atol=1e-7, err_msg=name)
    np.testing.assert_array_equal(back["z_regression"], np.float32([0.1, 0.2, 0.3]))


@pytest.mark.parametrize("suffix", [".fits", ".parquet"])
def test_predict_writes_the_catalogue_of_its_predictions(run, tmp_path, capsys, suffix):
    out, cat = tmp_path / "p.h5", str(tmp_path / f"cat{suffix}")
    assert predict(run, out, "--chunk-size", "16", "--catalogue", cat) == 0
    assert f"catalogue -> {cat}" in capsys.readouterr().out
    pred, back = predictions.read_predictions(out), read_table(cat)
    assert back["id"].tolist() == pred["id"].tolist()
    for name in ("z_median", "z_mean", "z_mode", "z_regression"):
        np.testing.assert_array_equal(back[name], pred[name])
    summary = compact_catalogue.summary_columns(pred["pdf"], pred["bin_edges"], pred["z_median"])
    for name, values in summary.items():
        np.testing.assert_array_equal(back[name], values)
    assert (back["z_lo68"] <= back["z_median"]).all() and (back["z_median"] <= back["z_hi68"]).all()


def test_catalogue_of_an_unknown_format_or_without_pyarrow(run, tmp_path, capsys, monkeypatch):
    out = tmp_path / "p.h5"
    assert predict(run, out, "--catalogue", str(tmp_path / "cat.csv")) == 2
    assert "cat.csv" in (line := error_line(capsys)) and ".fits" in line and ".parquet" in line
    real = compact_catalogue.importlib.util.find_spec
    monkeypatch.setattr(compact_catalogue.importlib.util, "find_spec",
                        lambda name: None if name == "pyarrow" else real(name))
    assert predict(run, out, "--catalogue", str(tmp_path / "cat.parquet")) == 2
    assert "'pyarrow'" in (line := error_line(capsys)) and "pip install pyarrow" in line
    assert not out.exists() and not os.path.exists(prediction_parts.parts_folder(str(out)))


# -- (e) float16 PDFs ------------------------------------------------------------------

def gaussian_mixtures(n, edges, seed):
    """(n, n_bins) float32 PDFs: 1 to 3 Gaussians, sigma 0.02-0.15 (1 + mu), on the grid."""
    rng = np.random.default_rng(seed)
    pdf = np.zeros((n, len(edges) - 1))
    for row in pdf:
        k = rng.integers(1, 4)
        for weight, mu in zip(rng.dirichlet(np.ones(k)), rng.uniform(0.1, 2.8, k)):
            sigma = rng.uniform(0.02, 0.15) * (1 + mu)
            row += weight * np.diff(ndtr((edges - mu) / sigma))
    return normalized(pdf)


def float16_loss(n=2000, seed=0):
    """The largest changes that storing the PDFs as float16 makes: to the PDF
    values, and to estimates computed from the stored PDF (300 bins, 0 < z < 3)."""
    edges = np.linspace(0.0, 3.0, 301)
    pdf = gaussian_mixtures(n, edges, seed)
    rounded = pdf.astype(np.float16).astype(np.float32)
    estimate = {"z_median": metrics.pdf_median, "z_mean": metrics.pdf_mean,
                "z_lo68": lambda p, e: metrics.pdf_quantile(p, e, 0.16),
                "z_hi68": lambda p, e: metrics.pdf_quantile(p, e, 0.84)}
    normal = pdf > 6.2e-5  # float16's normal range: relative steps of 2**-10
    loss = {"pdf": float(np.abs(rounded - pdf).max()),
            "pdf_relative": float((np.abs(rounded - pdf)[normal] / pdf[normal]).max())}
    for name, fn in estimate.items():
        loss[name] = float(np.abs(fn(rounded, edges) - fn(pdf, edges)).max())
    return edges, pdf, loss


def test_float16_pdfs_round_trip_and_their_measured_loss(tmp_path):
    edges, pdf, loss = float16_loss()
    n = len(pdf)
    f = dict(ids=np.arange(n), fold=np.full(n, -1), pdf=pdf, bin_edges=edges,
             z_regression=np.zeros(n, np.float32))
    path32 = predictions.write_predictions(tmp_path / "f32.h5", **f)
    path16 = predictions.write_predictions(tmp_path / "f16.h5", **f, pdf_dtype="float16")
    with h5py.File(path16, "r") as h5:
        assert h5["pdf"].dtype == np.float16
    a, b = predictions.read_predictions(path32), predictions.read_predictions(path16)
    assert b["pdf"].dtype == np.float32  # widened exactly, not renormalized
    np.testing.assert_array_equal(b["pdf"], pdf.astype(np.float16).astype(np.float32))
    for name in ("z_median", "z_mean", "z_mode"):  # computed before rounding
        np.testing.assert_array_equal(a[name], b[name])
    size = os.path.getsize(path16) / os.path.getsize(path32)
    print(f"\nfloat16 PDFs, {n} Gaussian mixtures on 300 bins: file {size:.2f} of float32; "
          + ", ".join(f"max |change| {k} {v:.2e}" for k, v in loss.items()))
    assert loss["pdf"] <= 2.0**-11 * pdf.max()  # half a float16 ulp
    for name in ("z_median", "z_mean", "z_lo68", "z_hi68"):
        assert loss[name] < 1e-3, (name, loss[name])  # a tenth of a bin (0.01)
