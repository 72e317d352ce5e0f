"""Hardware-flow timings and simulation throughput, all measured in one run.

On the seeded 5-eLink encoder: seconds to write the hls4ml project, to compile its C simulation, to generate
the RTL and to build Verilator, and wafers/s through the Keras model, the da4ml interpreter, the hls4ml C
simulation, Verilator + cocotb and Icarus + cocotb, with each rate as a ratio to Keras. On the 5-eLink
reference hybrid (``models/reference/econt_5elink_hybrid``): both compiled bulk harnesses, every frame
compared, against Keras on the same wafers: the RTL through Verilator (``codesign.hardware.sim.bulk``) and the
synthesised gates bit-sliced (``codesign.asic.gate_harness``; its Yosys synthesis takes about 5 minutes).

    python benchmarks/hw_flow.py [--wafers 3000] [--icarus-wafers 500] [--bulk-wafers 300000]
        [--out build/bench_hw]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

from codesign.asic.gate_harness import harness_builder
from codesign.data.onchip import onchip_convert
from codesign.hardware.hls import HlsSettings, compile_csim, write_hls_project
from codesign.hardware.rtl import trace_encoder, write_rtl
from codesign.hardware.sim.bulk import bulk_wafers, verify_bulk
from codesign.hardware.sim.runner import run_simulation
from codesign.hardware.vectors import check_wafers, make_vectors, write_vectors
from codesign.models.encoder import EncoderConfig, build_encoder, encoder_inputs
from codesign.models.store import load_encoder

REFERENCE = Path(__file__).parents[1] / "models" / "reference" / "econt_5elink_hybrid"


def _seconds(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wafers", type=int, default=3000)
    parser.add_argument("--icarus-wafers", type=int, default=500, help="Icarus is slow: stream fewer wafers")
    parser.add_argument("--bulk-wafers", type=int, default=300_000, help="wafers through the compiled harness")
    parser.add_argument("--out", default="build/bench_hw")
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    cfg = EncoderConfig()
    model = build_encoder(cfg, seed=1)
    calq, source = check_wafers(None, args.wafers)
    x = encoder_inputs(onchip_convert(calq).inputs, cfg)

    rates: dict[str, float] = {}
    model.predict(x[:1024], verbose=0, batch_size=1024)  # warm-up: graph tracing is not throughput
    _, t = _seconds(model.predict, x, verbose=0, batch_size=1024)
    rates["Keras (batch 1024)"] = len(x) / t
    comb = trace_encoder(model)
    _, t = _seconds(comb.predict, x.reshape(len(x), -1))
    rates["da4ml interpreter"] = len(x) / t
    hls_model, t_hls_write = _seconds(write_hls_project, model, cfg, HlsSettings(), out_dir=out / "hls")
    _, t_hls_compile = _seconds(compile_csim, hls_model)
    _, t = _seconds(hls_model.predict, x)
    rates["hls4ml C simulation"] = len(x) / t
    _, t_rtl = _seconds(write_rtl, model, cfg, out / "rtl")
    write_vectors(out / "vectors", make_vectors(model, cfg, calq))
    write_vectors(out / "vectors_icarus", make_vectors(model, cfg, calq[: args.icarus_wafers]))
    ver = run_simulation(out / "rtl", out / "vectors", "verilator", build_dir=out / "sim_verilator")
    rates["Verilator + cocotb"] = ver.stream_wafers_per_s
    ica = run_simulation(out / "rtl", out / "vectors_icarus", "icarus", build_dir=out / "sim_icarus")
    rates["Icarus + cocotb"] = ica.stream_wafers_per_s

    print(f"data: {len(calq)} wafers from {source}")
    print(f"write hls4ml project   : {t_hls_write:7.2f} s")
    print(f"compile C simulation   : {t_hls_compile:7.2f} s")
    print(f"generate RTL (da4ml)   : {t_rtl:7.2f} s")
    print(f"build Verilator        : {ver.build_seconds:7.2f} s")
    print(f"build Icarus           : {ica.build_seconds:7.2f} s")
    keras_rate = rates["Keras (batch 1024)"]
    for name, rate in rates.items():
        print(f"{name:<23}: {rate:12.0f} wafers/s  ({rate / keras_rate:.3g}x Keras)")
    assert np.isfinite(list(rates.values())).all()
    bulk(calq, out, args.bulk_wafers)


def bulk(real: np.ndarray, out: Path, n: int) -> None:
    """Both compiled harnesses on the 5-eLink reference against that model's Keras on the same wafers: the RTL
    through Verilator, and its top synthesised to generic gates (the ASIC flow's Yosys script, minutes) and
    simulated bit-sliced, 512 wafers a clock."""
    model, cfg = load_encoder(REFERENCE)
    write_rtl(model, cfg, out / "rtl_reference")
    calq = np.concatenate([c for _, c in bulk_wafers(real, n, calq_bits=22, seed=0)])
    x = encoder_inputs(onchip_convert(calq).inputs, cfg)
    model.predict(x[:1024], verbose=0, batch_size=1024)
    _, t = _seconds(model.predict, x, verbose=0, batch_size=1024)
    keras = len(x) / t
    print(f"5-eLink reference ({REFERENCE.name}), {n} wafers:")
    print(f"{'Keras (batch 1024)':<31}: {keras:12.0f} wafers/s  (1x)")
    for name, engine in (("compiled harness (RTL)", "rtl"), ("gate harness (netlist, sliced)", "gates")):
        report = verify_bulk(model, cfg, out / "rtl_reference", out / engine, real=real, n=n, seed=0,
                             progress=False, build=harness_builder(engine))
        assert report.result.ok, report.summary()
        rate = report.result.wafers_per_s
        print(f"{name:<31}: {rate:12.0f} wafers/s  ({rate / keras:.3g}x Keras; every frame compared; build "
              f"{report.build_seconds:.0f} s, golden model {report.golden_seconds:.0f} s)")


if __name__ == "__main__":
    main()
