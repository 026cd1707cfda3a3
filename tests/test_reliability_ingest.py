"""Ingest and data set writing under hostile input: nothing lost, every error one named line.

Issue 12: ``photoz ingest`` never deletes what is not a data set of ours (nor its
input), and a damaged file, a bad value, a full disk or a read-only output end
in one line on stderr that names the file, the object and the field (status 2).
"""

import csv
import errno
import json
import os
import socket
import zipfile

import h5py
import numpy as np
import pytest

from multimodal_photoz.cli import console
from multimodal_photoz.data import open_dataset, write_dataset
from multimodal_photoz.data.format import checks, layout
from multimodal_photoz.data.format.writer import DatasetWriter
from multimodal_photoz.data.ingest import CubeInput, IngestConfig, ingest

N = 4
BANDS = "g,r,i,z"


def _arrays(seed=0, **changes):
    rng = np.random.default_rng(seed)
    arrays = dict(images=rng.normal(size=(N, 8, 8, 4)).astype(np.float32),   # NHWC
                  z_spec=rng.uniform(0, 2, N), ebv=rng.uniform(0, 0.1, N),
                  id=np.arange(100, 100 + N))
    arrays.update(changes)
    return arrays


def _npz(path, **changes):
    np.savez(path, **_arrays(**changes))
    return path


def _h5(path, **changes):
    with h5py.File(path, "w") as f:
        for key, value in _arrays(**changes).items():
            f[key] = value
    return path


def _ingest(*args):
    return console(["ingest", *map(str, args)])


def _error(capsys) -> str:
    """The one line the CLI printed on stderr (and no traceback)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("photoz: error: ")
    return err


def _listing(directory):
    return sorted(os.listdir(directory))


# -- data loss: --overwrite and --out against the inputs ---------------------------------

def test_overwrite_refuses_a_directory_that_is_not_a_data_set(tmp_path, capsys):
    v = tmp_path / "v"
    v.mkdir()
    cube = _npz(v / "good.npz")
    (v / "notes.txt").write_text("my notes\n")
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", v, "--overwrite") == 2
    err = _error(capsys)
    assert str(v) in err and "input" in err
    assert _listing(v) == ["good.npz", "notes.txt"]
    # Not the input, but still not a data set: a plain folder of the user's.
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("my notes\n")
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", other, "--overwrite") == 2
    err = _error(capsys)
    assert str(other) in err and "not a photoz data set" in err
    assert _listing(other) == ["notes.txt"]


def test_overwrite_refuses_a_data_set_holding_foreign_files(tmp_path, capsys):
    cube = _npz(tmp_path / "good.npz")
    out = tmp_path / "ds"
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", out) == 0
    (out / "notes.txt").write_text("my notes\n")
    before = _listing(out)
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", out, "--overwrite") == 2
    err = _error(capsys)
    assert str(out) in err and "notes.txt" in err
    assert _listing(out) == before
    os.remove(out / "notes.txt")                   # a data set of ours alone is replaced
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", out, "--overwrite") == 0
    assert len(open_dataset(out)) == N


def test_every_file_a_writer_makes_belongs_to_a_data_set(tmp_path):
    """Else --overwrite would refuse to replace our own data sets."""
    zs = _arrays()["z_spec"]
    zs[1] = -1                                                   # for excluded.csv
    cube = _npz(tmp_path / "c.npz", z_spec=zs)
    out = tmp_path / "ds"
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", out, "--on-bad", "skip") == 0
    assert layout.EXCLUDED_FILE in _listing(out)
    assert layout.foreign_entries(out) == []
    layout.check_replaceable(out)


def test_overwrite_refuses_a_plain_file(tmp_path):
    a = _arrays()
    path = tmp_path / "results.txt"
    path.write_text("keep me\n")
    with pytest.raises(OSError, match="results.txt.*not a photoz data set"):
        write_dataset(path, images=a["images"], z_spec=a["z_spec"], ebv=a["ebv"], ids=a["id"],
                      bands="griz", name="d", overwrite=True)
    assert path.read_text() == "keep me\n"


@pytest.mark.parametrize("where", ["same", "inside"])
def test_out_at_the_input_file_is_refused_before_anything_is_written(tmp_path, capsys, where):
    cube = _h5(tmp_path / "self.h5")
    content = cube.read_bytes()
    out = cube if where == "same" else cube / "ds"
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", out, "--overwrite") == 2
    err = _error(capsys)
    assert "--out" in err and str(cube) in err
    assert cube.is_file() and cube.read_bytes() == content
    assert _listing(tmp_path) == ["self.h5"]            # no hidden .old-* or .partial-*


def test_out_containing_the_cutouts_is_refused(tmp_path, capsys):
    (tmp_path / "cut").mkdir()
    (tmp_path / "cat.csv").write_text("id,z_spec,ebv\n1,0.1,0.01\n")
    assert _ingest("--catalogue", tmp_path / "cat.csv", "--cutouts",
                   tmp_path / "cut" / "{id}_{band}.fits", "--bands", "g",
                   "--out", tmp_path, "--overwrite") == 2
    err = _error(capsys)
    assert "--out" in err and "cut" in err
    assert _listing(tmp_path) == ["cat.csv", "cut"]


# -- damaged or unexpected input files ------------------------------------------------------

def _damaged(tmp_path, kind):
    good = _npz(tmp_path / "good.npz").read_bytes()
    path = tmp_path / f"{kind}.npz"
    if kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("id,z\n1,0.1\n")
    elif kind == "crc":
        damaged = bytearray(good)
        with zipfile.ZipFile(tmp_path / "good.npz") as archive:
            info = archive.getinfo("images.npy")
        damaged[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF   # in the data
        path.write_bytes(bytes(damaged))
    elif kind == "truncated_h5":
        path = tmp_path / "cube.h5"
        data = _h5(tmp_path / "good.h5").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "empty_h5":
        path = tmp_path / "cube.h5"
        path.write_bytes(b"")
    return path


@pytest.mark.parametrize("kind", ["truncated", "empty", "text", "crc", "truncated_h5",
                                  "empty_h5"])
def test_damaged_cube_is_one_line_naming_the_file(tmp_path, capsys, kind):
    path = _damaged(tmp_path, kind)
    assert _ingest("--cube", path, "--bands", BANDS, "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert str(path) in err
    assert "pickle" not in err                          # not numpy's advice to unpickle
    assert not (tmp_path / "ds").exists()


def test_object_array_in_npz_names_file_and_field(tmp_path, capsys):
    z = np.array([0.1, "a", None, 0.4], dtype=object)
    path = tmp_path / "obj.npz"
    np.savez(path, **_arrays(z_spec=z), allow_pickle=True)
    assert _ingest("--cube", path, "--bands", BANDS, "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert str(path) in err and "'z_spec'" in err and "object" in err


def test_ragged_csv_names_the_file(tmp_path, capsys):
    cat = tmp_path / "ragged.csv"
    cat.write_text("id,z_spec,ebv\n1,0.1,0.01\n2,0.2\n3,0.3,0.03,9\n")
    assert _ingest("--catalogue", cat, "--cutouts", tmp_path / "{id}_{band}.fits",
                   "--bands", "g", "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert str(cat) in err and "column" in err


# -- file system failures while writing ----------------------------------------------------

def test_disk_full_during_ingest_names_the_path_and_keeps_the_old_data_set(
        tmp_path, capsys, monkeypatch):
    from multimodal_photoz.data.format import shards

    cube = _npz(tmp_path / "good.npz")
    out = tmp_path / "ds"
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", out) == 0
    before = {p: (out / p).read_bytes() for p in _listing(out)}

    def full(self, batch):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.directory / "shard"))

    monkeypatch.setattr(shards.ShardWriter, "write", full)
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", out, "--overwrite") == 2
    err = _error(capsys)
    assert "No space left on device" in err and str(out) in err
    assert {p: (out / p).read_bytes() for p in _listing(out)} == before
    assert _listing(tmp_path) == ["ds", "good.npz"]      # the staging folder is gone


def test_array_record_write_failure_is_a_user_error(tmp_path, capsys, monkeypatch):
    """ArrayRecord reports a full disk as RuntimeError; it must still be one line, status 2."""
    from array_record.python import array_record_module

    class FullDisk:
        def __init__(self, path, options):
            self.path = path

        def write(self, record):
            raise RuntimeError(f"write() failed: No space left on device; writing {self.path}")

        def close(self):
            pass

    monkeypatch.setattr(array_record_module, "ArrayRecordWriter", FullDisk)
    cube = _npz(tmp_path / "good.npz")
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert "No space left on device" in err and str(tmp_path / "ds") in err
    assert _listing(tmp_path) == ["good.npz"]


def test_read_only_output_names_the_path(tmp_path, capsys, monkeypatch):
    cube = _npz(tmp_path / "good.npz")
    mkdir = type(tmp_path).mkdir

    def read_only(self, *args, **kwargs):
        if ".partial-" in self.name:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "mkdir", read_only)
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert "Read-only file system" in err and str(tmp_path / "ds") in err


# -- messages that must say what is wrong ------------------------------------------------

def test_non_numeric_redshift_is_not_called_missing(tmp_path, capsys):
    path = _npz(tmp_path / "c.npz", z_spec=np.array(["0.1", "abc", "0.3", "0.4"]))
    assert _ingest("--cube", path, "--bands", BANDS, "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert "object id=101 (row 1): field 'z_spec' is not a number ('abc')" in err
    assert "missing" not in err


def test_band_count_that_fits_no_axis_says_both_counts(tmp_path, capsys):
    path = _npz(tmp_path / "c.npz")
    assert _ingest("--cube", path, "--bands", "g,r,i", "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert "3 bands" in err and "4 channels" in err and "--layout" not in err


def test_existing_out_asks_for_the_cli_option(tmp_path, capsys):
    cube = _npz(tmp_path / "good.npz")
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "ds") == 0
    capsys.readouterr()
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "ds") == 2
    assert "--overwrite" in _error(capsys)


@pytest.mark.parametrize("raw", ["²", "١٢", "１２"])
def test_id_that_is_not_ascii_digits_is_a_bad_object(raw):
    ids, problems = checks.parse_ids(np.array(["1", raw, "3"]))
    assert ids.tolist() == [1, -1, 3]
    assert [(p.row, p.field, p.kind) for p in problems] == [(1, "id", "not_integer")]


def test_skip_leaves_out_an_id_like_superscript_two(tmp_path, capsys):
    path = _npz(tmp_path / "c.npz", id=np.array(["1", "²", "3", "4"]))
    out = tmp_path / "ds"
    assert _ingest("--cube", path, "--bands", BANDS, "--out", out) == 2
    assert "field 'id' is not an integer ('²')" in _error(capsys)
    assert _ingest("--cube", path, "--bands", BANDS, "--out", out, "--on-bad", "skip") == 0
    assert "excluded, id: not_integer: 1" in capsys.readouterr().out
    np.testing.assert_array_equal(open_dataset(out).catalogue()["id"], [1, 3, 4])


# -- silent or late -----------------------------------------------------------------------

def test_masked_bands_are_counted_in_the_summary(tmp_path, capsys):
    images = _arrays()["images"]
    images[1, ..., 2] = np.nan                        # band i of object 101 absent
    images[3, ..., 2] = np.nan                        # and of object 103
    images[3, ..., 0] = np.nan                        # band g of object 103
    path = _npz(tmp_path / "c.npz", images=images)
    out = tmp_path / "ds"
    assert _ingest("--cube", path, "--bands", BANDS, "--out", out,
                   "--allow-missing-bands") == 0
    summary = capsys.readouterr().out
    assert "band g masked (absent) in 1 object" in summary
    assert "band i masked (absent) in 2 objects" in summary
    assert "band r masked" not in summary
    assert open_dataset(out).metadata["ingest"]["masked"] == {"g": 1, "i": 2}


def test_complex_redshift_is_refused(tmp_path, capsys):
    path = _npz(tmp_path / "c.npz", z_spec=_arrays()["z_spec"] + np.array([0, 1j, 0, 0]))
    assert _ingest("--cube", path, "--bands", BANDS, "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert "object id=101 (row 1): field 'z_spec'" in err and "complex" in err
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_zeropoint_is_refused(tmp_path, capsys, value):
    cube = _npz(tmp_path / "good.npz")
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "ds",
                   f"--zeropoint-ab={value}") == 2
    assert "--zeropoint-ab" in _error(capsys)
    assert not (tmp_path / "ds").exists()


def test_writer_refuses_non_finite_metadata(tmp_path):
    a = _arrays()
    with pytest.raises(ValueError, match="zeropoint_ab.*not a finite number"):
        write_dataset(tmp_path / "ds", images=a["images"], z_spec=a["z_spec"], ebv=a["ebv"],
                      ids=a["id"], bands="griz", name="d", metadata={"zeropoint_ab": np.nan})
    assert _listing(tmp_path) == []


def test_zeropoint_is_recorded_exactly_and_absent_when_not_given(tmp_path):
    cube = _npz(tmp_path / "good.npz")
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "a",
                   "--zeropoint-ab", "22.5") == 0
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "b") == 0
    assert json.loads((tmp_path / "a" / layout.META_FILE).read_text()
                      )["metadata"]["zeropoint_ab"] == 22.5
    assert "zeropoint_ab" not in open_dataset(tmp_path / "b").metadata


@pytest.mark.parametrize("z, detail", [(1e6, "above"), (np.inf, "not finite"),
                                       (-0.5, "negative")])
def test_implausible_redshift_is_refused_at_ingest(tmp_path, capsys, z, detail):
    zs = _arrays()["z_spec"]
    zs[2] = z
    path = _npz(tmp_path / "c.npz", z_spec=zs)
    assert _ingest("--cube", path, "--bands", BANDS, "--out", tmp_path / "ds") == 2
    err = _error(capsys)
    assert "object id=102 (row 2): field 'z_spec'" in err and detail in err


def test_redshift_bound_is_one_named_constant():
    z = np.array([0.0, checks.Z_SPEC_MAX, np.nextafter(checks.Z_SPEC_MAX, np.inf), np.nan])
    problems = checks.value_problems("z_spec", z)
    assert [(p.row, p.kind) for p in problems] == [(2, "implausible"), (3, "missing")]
    assert checks.value_problems("ebv", np.array([1e6])) == []


def _partial(tmp_path, name="ds", owner_pid=None):
    """A staging folder as an interrupted writer leaves it (owner: a process that ended)."""
    partial = tmp_path / f".{name}.partial-0123abcd"
    partial.mkdir()
    (partial / "shard-00000.partial").write_bytes(b"\0" * 100)
    if owner_pid is not None:
        (partial / layout.STAGING_OWNER_FILE).write_text(json.dumps(
            {"host": socket.gethostname(), "pid": owner_pid}))
    return partial


def _ended_pid():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_stale_partial_of_the_same_out_is_removed_and_said(tmp_path, capsys):
    stale = _partial(tmp_path, owner_pid=_ended_pid())
    other = _partial(tmp_path, name="other", owner_pid=_ended_pid())   # another target
    cube = _npz(tmp_path / "good.npz")
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "ds") == 0
    out = capsys.readouterr().out
    assert not stale.exists() and other.exists()
    assert "removed" in out and stale.name in out


def test_partial_in_use_or_not_ours_is_kept_and_named(tmp_path, capsys):
    live = _partial(tmp_path, owner_pid=os.getpid())               # a write still running
    cube = _npz(tmp_path / "good.npz")
    assert _ingest("--cube", cube, "--bands", BANDS, "--out", tmp_path / "ds") == 0
    out = capsys.readouterr().out
    assert live.exists() and str(live) in out
    assert not (tmp_path / "ds" / layout.STAGING_OWNER_FILE).exists()


def test_writer_leaves_no_owner_file_in_the_data_set(tmp_path):
    a = _arrays()
    with DatasetWriter(tmp_path / "ds", bands="griz", name="d") as writer:
        assert (writer.staging / layout.STAGING_OWNER_FILE).exists()
        writer.add(images=a["images"], z_spec=a["z_spec"], ebv=a["ebv"], ids=a["id"])
    assert layout.STAGING_OWNER_FILE not in _listing(tmp_path / "ds")
    assert _listing(tmp_path) == ["ds"]


def test_excluded_csv_is_part_of_a_data_set_that_can_be_replaced(tmp_path, capsys):
    zs = _arrays()["z_spec"]
    zs[1] = -1
    cube = _npz(tmp_path / "c.npz", z_spec=zs)
    out = tmp_path / "ds"
    args = ("--cube", cube, "--bands", BANDS, "--out", out, "--on-bad", "skip")
    assert _ingest(*args) == 0 and (out / "excluded.csv").exists()
    assert _ingest(*args, "--overwrite") == 0
    with open(out / "excluded.csv") as f:
        assert [r["id"] for r in csv.DictReader(f)] == ["101"]


def test_report_counts_no_masked_band_when_every_band_is_present(tmp_path):
    reader = CubeInput(_h5(tmp_path / "c.h5"), bands=BANDS)
    report = ingest(reader, IngestConfig(out_dir=tmp_path / "ds"))
    reader.close()
    assert report.written == N and report.masked == {}
