"""``photoz ingest``: turn an image cube or a catalogue with FITS cutouts into a data set.

    photoz ingest --cube cube.h5 --bands g,r,i,z --layout NCHW --out data/mine
    photoz ingest --catalogue cat.csv --cutouts 'cutouts/{id}_{band}.fits' \\
        --bands g,r,i,z --stamp 64 --on-bad skip --out data/mine
    photoz ingest --catalogue photometric.fits --cutouts 'cutouts/{id}_{band}.fits' \\
        --bands g,r,i,z --no-redshift --out data/to_predict

With --no-redshift the input needs no redshift column or array (none is read):
z_spec is NaN for every object and the data set is unlabelled, for photoz
predict only (photoz train and evaluate refuse it).
"""

from __future__ import annotations

import argparse
import json
import math

from multimodal_photoz.data.ingest.cube import LAYOUTS
from multimodal_photoz.data.ingest.driver import ON_BAD, IngestConfig, flux_factor_to, ingest
from multimodal_photoz.data.ingest.readers import READERS


def register(subparsers) -> None:
    """Adds the ``ingest`` subcommand to the ``photoz`` CLI."""
    p = subparsers.add_parser("ingest", help="ingest your own images into a data set",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)  # one per key of READERS
    src.add_argument("--cube", help=".npz or HDF5 file of images, redshifts, E(B-V) and ids")
    src.add_argument("--catalogue", help="FITS table or CSV: id, redshift, E(B-V), mag_<band>")
    p.add_argument("--out", required=True, help="data set directory to create")
    p.add_argument("--bands", required=True,
                   help="bands, e.g. g,r,i,z: the cube's channel order / the cutouts to read")
    p.add_argument("--name", help="data set name (default: the --out directory name)")
    p.add_argument("--stamp", type=int, help="centre-crop or zero-pad stamps to S x S pixels")
    p.add_argument("--on-bad", choices=ON_BAD, default="error",
                   help="error: stop at the first bad object, write nothing (default); "
                        "skip: leave bad objects out, list them in excluded.csv")
    p.add_argument("--no-redshift", action="store_true",
                   help="the input has no spectroscopic redshifts (a photometric sample to "
                        "predict): none is read, z_spec is stored as NaN and the data set "
                        "is unlabelled (photoz predict takes it, train and evaluate do not)")
    p.add_argument("--allow-missing-bands", action="store_true",
                   help="a missing cutout or an all-NaN band is zero-filled and masked")
    p.add_argument("--overwrite", action="store_true", help="replace an existing data set")
    cube = p.add_argument_group("cube input")
    cube.add_argument("--layout", choices=LAYOUTS, type=str.upper,
                      help="image axes (default: inferred from the number of bands)")
    cube.add_argument("--images-key", default="images")
    cube.add_argument("--z-key", help="array of redshifts (default: z_spec)")
    cube.add_argument("--ebv-key", default="ebv")
    cube.add_argument("--id-key", default="id")
    cat = p.add_argument_group("catalogue input")
    cat.add_argument("--cutouts", help="path pattern: 'cutouts/{id}_{band}.fits', or with "
                                       "--mef 'cutouts/{id}.fits' ({row} also works)")
    cat.add_argument("--mef", action="store_true",
                     help="one multi-extension FITS per object; EXTNAMEs = band letters, "
                          "else extensions in --bands order")
    cat.add_argument("--id-col", default="id")
    cat.add_argument("--z-col", help="column of redshifts (default: z_spec)")
    cat.add_argument("--ebv-col", default="ebv")
    cat.add_argument("--mag-cols", help="band=column,... (default: mag_<band> columns)")
    meta = p.add_argument_group("metadata")
    meta.add_argument("--survey", help="survey name, stored in the metadata")
    meta.add_argument("--zeropoint-ab", type=float,
                      help="pixel units: mag_AB = zeropoint_ab - 2.5 log10(flux)")
    meta.add_argument("--to-zeropoint-ab", type=float, metavar="Z",
                      help="bring the pixels to zeropoint Z (multiply by "
                           "10^(0.4 (Z - zeropoint_ab))) and record Z: needs --zeropoint-ab")
    meta.add_argument("--pixel-scale", type=float, help="arcsec per pixel")
    meta.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                      help="extra metadata (VALUE parsed as JSON if it can be)")
    p.set_defaults(func=run)


def _flux_factor(args) -> float:
    """The factor ``--to-zeropoint-ab`` asks for (1 without it)."""
    if args.to_zeropoint_ab is None:
        return 1.0
    if args.zeropoint_ab is None:
        raise ValueError(f"--to-zeropoint-ab {args.to_zeropoint_ab}: give the input's own "
                         "zeropoint with --zeropoint-ab, so the factor is known")
    return flux_factor_to(args.zeropoint_ab, args.to_zeropoint_ab)


def _metadata(args) -> dict:
    for option, value in (("--zeropoint-ab", args.zeropoint_ab),
                          ("--to-zeropoint-ab", args.to_zeropoint_ab),
                          ("--pixel-scale", args.pixel_scale)):
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{option} {value}: expected a finite number")
    zeropoint = args.zeropoint_ab if args.to_zeropoint_ab is None else args.to_zeropoint_ab
    meta = {k: v for k, v in (("survey", args.survey), ("zeropoint_ab", zeropoint),
                              ("pixel_scale_arcsec", args.pixel_scale)) if v is not None}
    if args.to_zeropoint_ab is not None and args.zeropoint_ab is not None:
        meta["ingest_rescaled_from_zeropoint_ab"] = args.zeropoint_ab
    for item in args.meta:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--meta {item!r}: expected KEY=VALUE")
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError:
            meta[key] = value
    return meta


def _reader(args):
    """The reader of the input given: ``--<kind> PATH`` for a kind of ``READERS``;
    options not given take the reader's defaults."""
    (kind,) = [kind for kind in READERS if getattr(args, kind) is not None]
    reader = READERS[kind]
    options = {option: getattr(args, option) for option in reader.OPTIONS
               if getattr(args, option) is not None}
    z_option = next((o for o in ("z_key", "z_col") if o in options), None)
    if args.no_redshift and z_option:
        flag = "--" + z_option.replace("_", "-")
        raise ValueError(f"{flag} {options[z_option]} with --no-redshift: no redshift is "
                         "read; leave out one of the two")
    return reader(getattr(args, kind), bands=args.bands, labelled=not args.no_redshift,
                  **options)


def run(args) -> int:
    """Runs ``photoz ingest``; returns the exit status (user errors propagate to
    ``multimodal_photoz.cli.console``, which prints them as one line, status 2)."""
    reader = _reader(args)
    config = IngestConfig(out_dir=args.out, name=args.name,
                          stamp=args.stamp, on_bad=args.on_bad,
                          allow_missing_bands=args.allow_missing_bands,
                          metadata=_metadata(args), overwrite=args.overwrite,
                          flux_factor=_flux_factor(args))
    try:
        report = ingest(reader, config)
    finally:
        reader.close()
    print(report.summary())
    print(f"data set written to {report.path}")
    return 0
