"""Ingestion of users' data: cubes and catalogues with cutouts, through the CLI."""

import collections
import csv
import os

import h5py
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from multimodal_photoz.cli import build_parser, console
from multimodal_photoz.data import BadInputError, open_dataset
from multimodal_photoz.data.format import checks
from multimodal_photoz.data.ingest import READERS, CubeInput, IngestConfig, cli, ingest

N = 6
FILE_BANDS = ("z", "g", "r", "i")          # channel order of the cube files
ORDER = [1, 2, 3, 0]                       # griz (wavelength order) from z,g,r,i


def _cube_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return dict(images=rng.normal(size=(N, 8, 8, 4)).astype(np.float32),   # NHWC
                z_spec=rng.uniform(0, 2, N), ebv=rng.uniform(0, 0.1, N),
                id=np.arange(100, 100 + N))


def _write_cube(path, arrays, layout):
    images = arrays["images"].transpose(0, 3, 1, 2) if layout == "NCHW" else arrays["images"]
    data = dict(arrays, images=images)
    if path.suffix == ".npz":
        np.savez(path, **data)
    else:
        with h5py.File(path, "w") as f:
            for k, v in data.items():
                f[k] = v


def _ingest(*args):
    return console(["ingest", *map(str, args)])


@pytest.mark.parametrize("suffix, layout", [(".npz", "NCHW"), (".h5", "NHWC"), (".h5", "NCHW")])
def test_cube_round_trip_reorders_bands_by_wavelength(tmp_path, suffix, layout, capsys):
    arrays = _cube_arrays()
    cube = tmp_path / f"cube{suffix}"
    _write_cube(cube, arrays, layout)
    assert _ingest("--cube", cube, "--bands", ",".join(FILE_BANDS), "--layout", layout,
                   "--out", tmp_path / "ds", "--zeropoint-ab", 27) == 0
    assert "read 6 objects, wrote 6, excluded 0" in capsys.readouterr().out
    source = open_dataset(tmp_path / "ds")
    assert source.bands == ("g", "r", "i", "z") and source.stamp_size == 8
    assert source.metadata["zeropoint_ab"] == 27
    for i in range(N):
        item = source[i]
        np.testing.assert_array_equal(item["image"], arrays["images"][i][..., ORDER])
        assert item["id"] == 100 + i and item["band_mask"].all()
        assert item["z_spec"] == np.float32(arrays["z_spec"][i])
        assert item["ebv"] == np.float32(arrays["ebv"][i])


def test_cube_layout_is_inferred_or_must_be_given(tmp_path):
    arrays = _cube_arrays()
    _write_cube(tmp_path / "c.npz", arrays, "NCHW")
    assert CubeInput(tmp_path / "c.npz", bands="zgri").layout == "NCHW"
    square = dict(arrays, images=np.zeros((N, 4, 4, 4), np.float32))
    np.savez(tmp_path / "s.npz", **square)
    with pytest.raises(ValueError, match="pass --layout NCHW or NHWC"):
        CubeInput(tmp_path / "s.npz", bands="zgri")
    with pytest.raises(ValueError, match="no array 'redshift' for field 'z_spec'"):
        CubeInput(tmp_path / "c.npz", bands="zgri", z_key="redshift").columns()
    np.savez(tmp_path / "short.npz", **dict(arrays, ebv=arrays["ebv"][:-1]))
    with pytest.raises(ValueError, match=r"short.npz: field 'ebv' has shape \(5,\); expected "
                                         r"\(6,\), one value per image"):
        CubeInput(tmp_path / "short.npz", bands="zgri").columns()


def _catalogue(tmp_path, rows, fmt):
    """Writes the catalogue; ``rows`` are dicts with id, z, ebv, mag_r as strings or numbers."""
    path = tmp_path / f"cat.{fmt}"
    if fmt == "csv":
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["ID", "z_spec", "ebv", "mag_r"])
            w.writerows([[r["id"], r["z"], r["ebv"], r["mag_r"]] for r in rows])
    else:
        Table({"ID": [r["id"] for r in rows], "z_spec": [r["z"] for r in rows],
               "ebv": [r["ebv"] for r in rows], "mag_r": [r["mag_r"] for r in rows]}
              ).write(path)
    return path


def _objects(tmp_path, size=10, mef=False, seed=1):
    """Writes cutouts for ids 1..N in bands r, g, i; returns the rows and images."""
    rng = np.random.default_rng(seed)
    (tmp_path / "cut").mkdir(exist_ok=True)
    rows, images = [], {}
    for k in range(N):
        obj = k + 1
        rows.append({"id": obj, "z": round(0.1 * obj, 3), "ebv": 0.01, "mag_r": 20.0 + k})
        images[obj] = {b: rng.normal(size=(size, size)).astype(np.float32) for b in "rgi"}
        if mef:
            hdus = [fits.PrimaryHDU()] + [fits.ImageHDU(images[obj][b], name=b.upper())
                                          for b in "irg"]
            fits.HDUList(hdus).writeto(tmp_path / "cut" / f"{obj}.fits")
        else:
            for b in "rgi":
                fits.PrimaryHDU(images[obj][b]).writeto(tmp_path / "cut" / f"{obj}_{b}.fits")
    return rows, images


@pytest.mark.parametrize("fmt, mef", [("csv", False), ("fits", False), ("fits", True),
                                      ("csv", True)])
def test_catalogue_with_cutouts_round_trip(tmp_path, fmt, mef):
    rows, images = _objects(tmp_path, mef=mef)
    cat = _catalogue(tmp_path, rows, fmt)
    pattern = tmp_path / "cut" / ("{id}.fits" if mef else "{id}_{band}.fits")
    args = ["--catalogue", cat, "--cutouts", pattern, "--bands", "r,i,g", "--out",
            tmp_path / "ds", "--id-col", "ID"] + (["--mef"] if mef else [])
    assert _ingest(*args) == 0
    source = open_dataset(tmp_path / "ds")
    assert source.bands == ("g", "r", "i")
    for i in range(N):
        item = source[i]
        expected = np.stack([images[i + 1][b] for b in "gri"], axis=-1)
        np.testing.assert_array_equal(item["image"], expected)
        assert item["id"] == i + 1 and item["mag_r"] == np.float32(20.0 + i)
        assert item["z_spec"] == np.float32(rows[i]["z"])


def test_mef_extensions_by_order_when_not_named(tmp_path):
    rng = np.random.default_rng(0)
    planes = rng.normal(size=(3, 5, 5)).astype(np.float32)
    (tmp_path / "cut").mkdir()
    hdus = [fits.PrimaryHDU(planes[0])] + [fits.ImageHDU(p, name=f"SCI{k}")
                                           for k, p in enumerate(planes[1:])]
    fits.HDUList(hdus).writeto(tmp_path / "cut" / "1.fits")
    cat = _catalogue(tmp_path, [{"id": 1, "z": 0.5, "ebv": 0.0, "mag_r": ""}], "csv")
    assert _ingest("--catalogue", cat, "--cutouts", tmp_path / "cut/{id}.fits", "--mef",
                   "--bands", "i,r,g", "--id-col", "ID", "--out", tmp_path / "ds") == 0
    item = open_dataset(tmp_path / "ds")[0]
    np.testing.assert_array_equal(item["image"], planes[[2, 1, 0]].transpose(1, 2, 0))  # g r i
    assert np.isnan(item["mag_r"])   # empty magnitude = unknown


@pytest.mark.parametrize("size, stamp, offset, kind", [(10, 6, 2, "cropped"),
                                                       (9, 6, 1, "cropped"),
                                                       (4, 6, 1, "padded")])
def test_stamps_are_centre_cropped_or_zero_padded(tmp_path, size, stamp, offset, kind, capsys):
    rows, images = _objects(tmp_path, size=size)
    cat = _catalogue(tmp_path, rows, "csv")
    assert _ingest("--catalogue", cat, "--cutouts", tmp_path / "cut/{id}_{band}.fits",
                   "--bands", "g,r,i", "--id-col", "ID", "--stamp", stamp,
                   "--out", tmp_path / "ds") == 0
    assert f"{size}x{size} {kind} to {stamp}x{stamp}: {N} objects" in capsys.readouterr().out
    got = open_dataset(tmp_path / "ds")[0]["image"][..., 0]
    g = images[1]["g"]
    if kind == "cropped":
        np.testing.assert_array_equal(got, g[offset:offset + stamp, offset:offset + stamp])
    else:
        np.testing.assert_array_equal(got[offset:offset + size, offset:offset + size], g)
        outside = np.ones_like(got, bool)
        outside[offset:offset + size, offset:offset + size] = False
        assert np.all(got[outside] == 0)


def test_missing_band_is_an_error_unless_allowed_then_masked(tmp_path):
    rows, images = _objects(tmp_path)
    os.remove(tmp_path / "cut" / "3_i.fits")
    with fits.open(tmp_path / "cut" / "5_g.fits", mode="update") as hdul:
        hdul[0].data[:] = np.nan                  # an all-NaN band: absent as well
    cat = _catalogue(tmp_path, rows, "csv")
    args = ["--catalogue", cat, "--cutouts", tmp_path / "cut/{id}_{band}.fits", "--bands",
            "g,r,i", "--id-col", "ID", "--out", tmp_path / "ds"]
    with pytest.raises(BadInputError, match=r"cat.csv: object id=3 \(row 2\): field 'image' "
                                            r"band i: file .*3_i.fits not found"):
        ingest_from_cli(args)
    assert _ingest(*args, "--allow-missing-bands") == 0
    source = open_dataset(tmp_path / "ds")
    np.testing.assert_array_equal(source.catalogue()["band_mask"][[2, 4]],
                                  [[True, True, False], [False, True, True]])
    assert np.all(source[2]["image"][..., 2] == 0) and np.all(source[4]["image"][..., 0] == 0)
    np.testing.assert_array_equal(source[2]["image"][..., 1], images[3]["r"])


def ingest_from_cli(args):
    """Runs the CLI's ingestion but lets the error propagate (to check its type)."""
    parsed = build_parser().parse_args(["ingest", *map(str, args)])
    reader = cli._reader(parsed)
    config = IngestConfig(out_dir=parsed.out, stamp=parsed.stamp,
                          on_bad=parsed.on_bad, allow_missing_bands=parsed.allow_missing_bands)
    return ingest(reader, config)


def _bad_catalogue(tmp_path):
    """A catalogue with one bad object of each kind; returns (args, expected problems)."""
    rows, _ = _objects(tmp_path, seed=2)
    rows += [dict(r, id=r["id"] + 10) for r in rows]            # ids 1..6 and 11..16
    for obj in range(11, 17):
        for b in "rgi":
            os.link(tmp_path / "cut" / f"{obj - 10}_{b}.fits", tmp_path / "cut" / f"{obj}_{b}.fits")
    rows[1]["z"] = -0.3                                         # negative redshift
    rows[2]["z"] = ""                                           # missing redshift
    rows[3]["ebv"] = ""                                         # missing E(B-V)
    rows[4]["id"] = "4.5"                                       # non-integer id
    rows[7]["id"] = rows[6]["id"]                               # duplicated id (rows 6, 7)
    os.remove(tmp_path / "cut" / "14_r.fits")                   # missing file (row 9)
    fits.PrimaryHDU(np.zeros((12, 12), np.float32)).writeto(    # wrong shape (row 10)
        tmp_path / "cut" / "15_g.fits", overwrite=True)
    bad = fits.getdata(tmp_path / "cut" / "16_i.fits").copy()
    bad[3, 4] = np.nan                                          # NaN pixel (row 11)
    fits.PrimaryHDU(bad).writeto(tmp_path / "cut" / "16_i.fits", overwrite=True)
    cat = _catalogue(tmp_path, rows, "csv")
    args = ["--catalogue", cat, "--cutouts", tmp_path / "cut/{id}_{band}.fits", "--bands",
            "g,r,i", "--id-col", "ID", "--out", tmp_path / "ds"]
    expected = {1: ("z_spec", "negative", "id=2 (row 1): field 'z_spec' is negative (-0.3)"),
                2: ("z_spec", "missing", "id=3 (row 2): field 'z_spec' is missing"),
                3: ("ebv", "missing", "id=4 (row 3): field 'ebv' is missing"),
                4: ("id", "not_integer", "id=4.5 (row 4): field 'id' is not an integer"),
                6: ("id", "duplicate", "id=11 (row 6): field 'id' is duplicated (also in row 7)"),
                7: ("id", "duplicate", "id=11 (row 7): field 'id' is duplicated (also in row 6)"),
                9: ("image", "missing_band", "id=14 (row 9): field 'image' band r: file"),
                10: ("image", "wrong_shape", "id=15 (row 10): field 'image' has bands of "
                                             "different sizes (g: 12x12, r: 10x10, i: 10x10)"),
                11: ("image", "non_finite_pixels", "id=16 (row 11): field 'image' has "
                                                   "non-finite pixels in band i (1 NaN")}
    return args, expected


def test_first_bad_object_stops_ingestion_before_reading_images(tmp_path):
    args, expected = _bad_catalogue(tmp_path)
    with pytest.raises(BadInputError) as err:
        ingest_from_cli(args)
    assert str(err.value) == f"{args[1]}: object {expected[1][2]}"
    assert not (tmp_path / "ds").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no partial output


def test_a_stamp_of_another_size_needs_stamp(tmp_path):
    rows, _ = _objects(tmp_path)
    for b in "gri":
        fits.PrimaryHDU(np.ones((12, 12), np.float32)).writeto(
            tmp_path / "cut" / f"4_{b}.fits", overwrite=True)
    args = ["--catalogue", _catalogue(tmp_path, rows, "csv"), "--cutouts",
            tmp_path / "cut/{id}_{band}.fits", "--bands", "g,r,i", "--id-col", "ID",
            "--out", tmp_path / "ds"]
    with pytest.raises(BadInputError, match=r"object id=4 \(row 3\): field 'image' is 12x12 "
                                            r"pixels, not 10x10 like the first object"):
        ingest_from_cli(args)
    assert _ingest(*args, "--stamp", 10) == 0


@pytest.mark.parametrize("row", [9, 10, 11])
def test_image_errors_name_the_cutout_problem(tmp_path, row):
    args, expected = _bad_catalogue(tmp_path)
    table = Table.read(args[1], format="ascii.csv")
    keep = [row] + [r for r in range(len(table)) if r not in expected]
    Table(table[keep]).write(tmp_path / "one.csv", format="ascii.csv")
    args[1] = tmp_path / "one.csv"
    with pytest.raises(BadInputError) as err:
        ingest_from_cli(args)
    detail = expected[row][2].replace(f"(row {row})", "(row 0)")
    assert detail in str(err.value)
    assert not (tmp_path / "ds").exists()


def test_skip_reports_every_excluded_object_and_counts(tmp_path, capsys):
    args, expected = _bad_catalogue(tmp_path)
    assert _ingest(*args, "--on-bad", "skip") == 0
    out = capsys.readouterr().out
    assert "read 12 objects, wrote 3, excluded 9" in out
    for reason, count in [("z_spec: negative", 1), ("z_spec: missing", 1), ("ebv: missing", 1),
                          ("id: not_integer", 1), ("id: duplicate", 2),
                          ("image: missing_band", 1), ("image: wrong_shape", 1),
                          ("image: non_finite_pixels", 1)]:
        assert f"excluded, {reason}: {count}" in out
    with open(tmp_path / "ds" / "excluded.csv") as f:
        report = list(csv.DictReader(f))
    assert [int(r["row"]) for r in report] == sorted(expected)
    for r in report:
        field, kind, detail = expected[int(r["row"])]
        assert (r["field"], r["reason"]) == (field, kind) and detail in r["detail"]
    source = open_dataset(tmp_path / "ds")
    np.testing.assert_array_equal(source.catalogue()["id"], [1, 6, 13])
    assert source.metadata["ingest"]["excluded"]["id: duplicate"] == 2


def test_cube_bad_values_name_file_object_and_field(tmp_path, capsys):
    arrays = _cube_arrays()
    arrays["images"][3, 2, 2, 2] = np.nan
    arrays["z_spec"][4] = np.nan
    _write_cube(tmp_path / "cube.h5", arrays, "NHWC")
    args = ("--cube", tmp_path / "cube.h5", "--bands", "z,g,r,i", "--out", tmp_path / "ds")
    assert _ingest(*args) == 2
    err = capsys.readouterr().err
    assert "cube.h5: object id=104 (row 4): field 'z_spec' is missing" in err
    assert not (tmp_path / "ds").exists()
    assert _ingest(*args, "--on-bad", "skip") == 0
    assert "excluded, image: non_finite_pixels: 1" in capsys.readouterr().out
    with open(tmp_path / "ds" / "excluded.csv") as f:
        report = list(csv.DictReader(f))
    assert [(r["id"], r["field"]) for r in report] == [("103", "image"), ("104", "z_spec")]
    assert "has non-finite pixels in band r (1 NaN, 0 infinite)" in report[0]["detail"]


@pytest.fixture
def checked(monkeypatch):
    """Counts (field, row) -> times each object's field went through a ``checks`` function."""
    counts = collections.Counter()
    original = {name: getattr(checks, name) for name in
                ("parse_ids", "value_problems", "image_problems", "magnitude_problems")}

    def parse_ids(values, rows):
        counts.update(("id", int(r)) for r in rows)
        return original["parse_ids"](values, rows)

    def value_problems(name, values, rows, **kwargs):
        counts.update((name, int(r)) for r in rows)
        return original["value_problems"](name, values, rows, **kwargs)

    def image_problems(images, band_mask, bands, rows):
        counts.update(("image", int(r)) for r in rows)
        return original["image_problems"](images, band_mask, bands, rows)

    def magnitude_problems(mags, rows):
        counts.update((f"mag_{band}", int(r)) for band in mags for r in rows)
        return original["magnitude_problems"](mags, rows)

    for name, wrapper in [("parse_ids", parse_ids), ("value_problems", value_problems),
                          ("image_problems", image_problems),
                          ("magnitude_problems", magnitude_problems)]:
        monkeypatch.setattr(checks, name, wrapper)
    return counts


def test_ingest_checks_each_object_once(tmp_path, checked):
    arrays = dict(_cube_arrays(), mag_r=np.linspace(18, 23, N))
    arrays["images"][3, 2, 2, 2] = np.nan                       # excluded (skip)
    _write_cube(tmp_path / "cube.npz", arrays, "NHWC")
    reader = CubeInput(tmp_path / "cube.npz", bands=FILE_BANDS)
    report = ingest(reader, IngestConfig(out_dir=tmp_path / "ds", on_bad="skip", batch_size=4))
    assert report.written == N - 1
    fields = ("id", "z_spec", "ebv", "mag_r", "image")
    assert checked == {(field, row): 1 for field in fields for row in range(N)}


def test_ingest_takes_its_reader_from_the_registry(tmp_path):
    parser = build_parser()
    for kind, reader in READERS.items():                       # --cube, --catalogue
        args = parser.parse_args(["ingest", f"--{kind}", "x", "--bands", "g", "--out", "o"])
        assert all(hasattr(args, option) for option in reader.OPTIONS)
    _write_cube(tmp_path / "c.npz", _cube_arrays(), "NCHW")
    args = parser.parse_args(["ingest", "--cube", str(tmp_path / "c.npz"), "--bands", "z,g,r,i",
                              "--z-key", "z_spec", "--out", str(tmp_path / "ds")])
    reader = cli._reader(args)
    assert isinstance(reader, READERS["cube"]) and reader.layout == "NCHW"
