"""One sweep point as one task: train -> evaluate -> RTL -> ASIC and FPGA synthesis, in ``out/points/ID``.

``run_point`` never raises: a failure is written to ``error.json`` (stage, message, traceback) and returned
as a ``failed`` row, so one bad point does not stop a sweep. Success writes ``result.json`` last and
atomically; its presence is what marks the point finished for a restarted sweep. Training inside a point
resumes from its own backup, so a point cut off mid-fit does not start over either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codesign.artifacts import write_json
from codesign.sweep.spec import Point, spec_of

RESULT = "result.json"
ERROR = "error.json"
LOG = "point.log"


def _limit_threads(n: int) -> None:
    """One worker process = ``n`` cores: TensorFlow would otherwise start a thread pool per core in every
    worker. Only possible before TensorFlow's first op in the process, so later points keep the setting."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:
        pass


def _train(point: Point, folder: Path, row: dict[str, Any]) -> Any:
    from codesign.training import train_autoencoder

    spec = spec_of(point)
    spec = dataclasses.replace(spec, name=f"{spec.name}-{point.id}")
    ae = train_autoencoder(spec, folder / "model", progress=False)
    row["epochs"] = len(json.loads((folder / "model" / "history.json").read_text())["loss"])
    return ae, spec


def _evaluate(ae: Any, spec: Any, folder: Path, evaluation: Any, row: dict[str, Any]) -> None:
    from codesign.evaluation import evaluate_model, write_evaluation
    from codesign.training import held_out_wafers

    calq = held_out_wafers(spec, evaluation.data, evaluation.n_wafers)
    metrics, emds = evaluate_model(ae, spec, calq, n_jobs=1)
    write_evaluation(folder / "eval", metrics, emds, force=True, model=str(folder / "model"), data=evaluation.data)
    ours = metrics.pop(f"autoencoder:{spec.name}")
    row.update(n_eval_wafers=len(calq), mean_emd=ours["mean_emd"], median_emd=ours["median_emd"],
               p90_emd=ours["p90_emd"], bits_per_bx=ours["bits_per_bx"])
    row.update({f"baseline:{name}": m["mean_emd"] for name, m in metrics.items()})


def _rtl(folder: Path, row: dict[str, Any]) -> None:
    from codesign.hardware.rtl import write_rtl
    from codesign.models.store import load_encoder

    model, cfg = load_encoder(folder / "model")
    info = write_rtl(model, cfg, folder / "rtl")
    row.update(latency_cycles=info.latency_cycles, core_registers=info.core_registers,
               da4ml_luts=info.estimated_luts)


def variant_column(key: str, variant: str) -> str:
    """A result column of a design variant: ``area_mm2`` for the fixed core, ``area_mm2:reconfig_r4`` else."""
    return key if variant == "fixed" else f"{key}:{variant}"


def _variant_rtl(folder: Path, variants: tuple[str, ...]) -> dict[str, Path]:
    """RTL folders of the fixed core and of each reconfigurable variant of the point's encoder shape."""
    from codesign.hardware.variants import variant_rtl

    return variant_rtl(folder / "model", folder / "rtl", folder / "variants", variants=("fixed", *variants))


def _asic(folder: Path, part: str, row: dict[str, Any], variants: tuple[str, ...]) -> None:
    from codesign.asic.synth import synthesize_asic

    for name, rtl in _variant_rtl(folder, variants).items():
        out = folder / ("asic" if name == "fixed" else f"asic_{name}")
        area = synthesize_asic(rtl, out, part=part).area
        assert area is not None  # generic cells, no library
        row.update({variant_column(key, name): getattr(area, key)
                    for key in ("cells", "flip_flops", "gate_equivalents", "area_mm2")})
        (out / "netlist.v").unlink(missing_ok=True)  # tens of MB per point; the counts are kept


def _fpga(folder: Path, part: str, row: dict[str, Any], variants: tuple[str, ...]) -> None:
    from codesign.fpga.synth import synthesize_fpga

    for name, rtl in _variant_rtl(folder, variants).items():
        r = synthesize_fpga(rtl, folder / ("fpga" if name == "fixed" else f"fpga_{name}"), part=part).resources
        row.update({variant_column(key, name): value
                    for key, value in (("luts", r.LUT), ("fpga_ff", r.FF), ("carry", r.CARRY), ("dsp", r.DSP))})


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Keras' epoch lines and tool chatter of a point go to its own log, not the worker's console."""
    with path.open("a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield


def run_point(point: Point, out_dir: str | Path, stages: tuple[str, ...], *, evaluation: Any,
              synth_module: str = "core", threads: int = 1, previous: dict[str, Any] | None = None,
              variants: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run ``stages`` of one point in ``out_dir/ID`` and return its result row (also written to disk);
    ``previous`` is the row of its earlier stages (synthesis after the front was found); ``variants``
    (reconfigurable designs of the same shape) are synthesised beside the fixed core."""
    folder = Path(out_dir) / point.id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ERROR).unlink(missing_ok=True)
    row: dict[str, Any] = {**(previous or {}), "id": point.id, "status": "ok", **point.columns,
                           "worker": f"{socket.gethostname()}:{os.getpid()}",
                           "synthesized": bool({"asic", "fpga"} & set(stages))}
    started = previous.get("wall_s", 0.0) if previous else 0.0
    stage, start = "setup", time.perf_counter()
    with _output_to(folder / LOG):
        try:
            _limit_threads(threads)
            for stage in stages:
                t0 = time.perf_counter()
                if stage == "train":
                    ae, spec = _train(point, folder, row)
                elif stage == "evaluate":
                    _evaluate(ae, spec, folder, evaluation, row)
                elif stage == "rtl":
                    _rtl(folder, row)
                elif stage == "asic":
                    _asic(folder, synth_module, row, variants)
                elif stage == "fpga":
                    _fpga(folder, synth_module, row, variants)
                row[f"{stage}_s"] = round(time.perf_counter() - t0, 2)
        except Exception as err:  # recorded; the sweep goes on
            row.update(status="failed", error=f"{stage}: {type(err).__name__}: {err}")
            write_json(folder / ERROR, {**row, "traceback": traceback.format_exc()})
            (folder / RESULT).unlink(missing_ok=True)  # a failed synthesis after the front: the point is not done
            return row
    row["wall_s"] = round(started + time.perf_counter() - start, 2)
    write_json(folder / RESULT, row)
    return row
