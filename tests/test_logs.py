"""Run logs: JSON lines (resumes, cut lines), TensorBoard events, quiet progress bars."""

import glob
import json
import os

import numpy as np
import pytest

from multimodal_photoz import logs


def test_json_lines_and_tensorboard(tmp_path):
    with logs.RunLogger(tmp_path, "hsc9", member=1) as log:
        record = log.scalars(10, {"loss": np.float32(2.5), "lr": 1e-4, "grad_norm": float("nan")})
        log.scalars(20, {"loss": 2.0}, member=2)
    lines = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    assert lines[0] == record
    assert lines[0]["step"] == 10 and lines[0]["member"] == 1 and lines[0]["name"] == "hsc9"
    assert lines[0]["metrics"] == {"loss": 2.5, "lr": 1e-4, "grad_norm": None}
    assert lines[1]["member"] == 2 and lines[1]["time"] >= lines[0]["time"]
    events = glob.glob(str(tmp_path / "tensorboard" / "hsc9" / "member_*" / "events.out.tfevents.*"))
    assert len(events) == 2 and all(os.path.getsize(e) > 0 for e in events)


def test_read_log_keeps_last_entry_per_step_and_skips_cut_lines(tmp_path):
    with logs.RunLogger(tmp_path, "run", tensorboard=False) as log:
        for step in (0, 10, 20):
            log.scalars(step, {"loss": 1.0}, member=0)
    with logs.RunLogger(tmp_path, "run", tensorboard=False) as log:  # resumed from step 10
        log.scalars(20, {"loss": 0.5}, member=0)
        log.scalars(0, {"loss": 3.0}, member=1)
    with open(tmp_path / "log.jsonl", "a") as f:
        f.write('{"step": 30, "member": 0, "metr')  # a write cut by kill -9
    with pytest.warns(RuntimeWarning, match=r"log.jsonl: line 6: not a log record"):
        records = logs.read_log(tmp_path)
    assert [(r["member"], r["step"], r["metrics"]["loss"]) for r in records] == [
        (0, 0, 1.0), (0, 10, 1.0), (0, 20, 0.5), (1, 0, 3.0)]


def test_progress_is_silent_when_asked(monkeypatch):
    monkeypatch.setenv(logs.NO_PROGRESS_ENV, "1")
    assert not logs.progress_enabled()
    assert logs.progress_enabled(disable=False)
    bar = logs.progress(range(5), total=5, desc="train")
    assert bar.disable and list(bar) == [0, 1, 2, 3, 4]
    monkeypatch.setenv(logs.NO_PROGRESS_ENV, "0")
    assert logs.progress_enabled() == __import__("sys").stderr.isatty()
