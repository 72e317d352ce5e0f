"""The Python API: one object per model folder, over the same library functions as the command line.

    import codesign

    model = codesign.load_model("models/reference/econt_2elink_hybrid")
    calq = codesign.read_calq("../shared/data/hgcal/highpu_dev.csv")
    encoded = model.predict(calq[:100])   # what the chip sends: latents, sum codes, modes, frames
    wafers = model.reconstruct(calq[:100])  # what the back end rebuilds (needs the decoder)
    result = model.evaluate(calq[:100])     # exact EMD against the chip's algorithms
    info = model.write_rtl("out/rtl")       # Verilog (da4ml core + econt_top), an RtlInfo

A model folder is what ``codesign train`` writes (encoder and decoder) or ``codesign model init`` (encoder
only, seeded weights). TensorFlow is imported on the first call that needs it, not by ``import codesign``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from codesign.data.geometry import N_TC
from codesign.errors import InputError
from codesign.models.encoder import EncoderConfig
from codesign.models.frame import FrameFormat
from codesign.models.store import AE_FILE, ENCODER_FILE, SPEC_FILE, ModelFolderError, load_encoder_config

if TYPE_CHECKING:  # imported when called: TensorFlow, hls4ml and Yosys' flow are not needed to load a model
    from codesign.asic.synth import AsicReport
    from codesign.hardware.hls import CsimCheck, HlsSettings
    from codesign.hardware.rtl import Pipelining, RtlInfo
    from codesign.hardware.sim.bulk import BulkReport
    from codesign.hardware.sim.runner import SimResult
    from codesign.hardware.vectors import EncodedWafers
    from codesign.table_system import TableSystem


@dataclass(frozen=True)
class Evaluation:
    """Exact EMD of an encoder and of the arena's systems on the same wafers: ``metrics[name]`` (mean,
    median, p90, bits per BX, back end, ...) and ``emd[name]`` (per wafer). Names: ``chip:<algorithm>:
    <module>:<n>elink`` (best back end), ``naive:chip:...``, ``codec:entropy:...``, ``floor:<module>``."""

    encoder: str
    metrics: dict[str, dict[str, Any]]
    emd: dict[str, np.ndarray]

    def mean(self, name: str | None = None) -> float:
        """Mean EMD of ``name`` (default: the encoder)."""
        return float(self.metrics[name or self.encoder]["mean_emd"])

    def best_chip(self, module: str, *, prefixes: tuple[str, ...] = ("chip:",)) -> tuple[str, float]:
        """(name, mean EMD) of the chip's best algorithm (with its best back end) for module type ``module``
        (hd or ld); ``prefixes=("naive:chip:",)``: as the emulator decodes, ``NON_LEARNED``: with the codec."""
        from codesign.evaluation import best_systems

        name = best_systems(self.metrics, prefixes).get(module)
        if name is None:
            raise KeyError(f"no {' or '.join(prefixes)} system for module type {module!r} in this evaluation")
        return name, float(self.metrics[name]["mean_emd"])

    def best_non_learned(self, module: str) -> tuple[str, float]:
        """(name, mean EMD) of the best non-learned system of the arena (chip algorithms with their best back
        ends, the entropy codec) for module type ``module``."""
        from codesign.evaluation import NON_LEARNED

        return self.best_chip(module, prefixes=NON_LEARNED)

    def best_learned_back_end(self, module: str) -> tuple[str, float]:
        """(name, mean EMD) of the best frames with a learned back end (``learned:...``, the arena's
        ``LearnedPlacement``) for module type ``module``: a learned system to set against the above."""
        from codesign.evaluation import LEARNED_BACK_END

        return self.best_chip(module, prefixes=LEARNED_BACK_END)

    def __repr__(self) -> str:
        lines = [f"Evaluation of {self.encoder} on {len(self.emd[self.encoder])} wafers: mean EMD {self.mean():.4f}"]
        for module in ("hd", "ld"):
            try:
                name, value = self.best_chip(module)
            except KeyError:
                continue
            lines.append(f"  best chip ({module}): {name} {value:.4f} ({self.mean() / value - 1:+.1%})")
            if any(k.startswith("codec:") for k in self.metrics):
                name, value = self.best_non_learned(module)
                lines.append(f"  best non-learned ({module}): {name} {value:.4f} ({self.mean() / value - 1:+.1%})")
        return "\n".join(lines)


@dataclass
class Model:
    """A model folder: the quantized encoder (``config``, its frame), and the decoder when trained."""

    folder: Path
    config: EncoderConfig
    _encoder: Any = field(default=None, repr=False)
    _autoencoder: Any = field(default=None, repr=False)
    _spec: Any = field(default=None, repr=False)

    @property
    def frame_format(self) -> FrameFormat:
        return FrameFormat.of(self.config)

    @property
    def history(self) -> dict[str, list[float]]:
        """Loss curves of the training (``history.json``: joint fit, then decoder-only epochs)."""
        import json

        path = self.folder / "history.json"
        if not path.is_file():
            raise ModelFolderError(f"{self.folder}: no history.json (not a trained model folder)")
        return json.loads(path.read_text())

    @property
    def trained(self) -> bool:
        """Whether the folder holds a decoder (``reconstruct`` and ``evaluate`` need one)."""
        return (self.folder / AE_FILE).is_file() and (self.folder / SPEC_FILE).is_file()

    @property
    def keras_encoder(self) -> Any:
        if self._encoder is None:
            from codesign.models.store import load_encoder

            self._encoder, _ = load_encoder(self.folder)
        return self._encoder

    def _trained(self) -> tuple[Any, Any]:
        if not self.trained:
            raise ModelFolderError(f"{self.folder}: no decoder ({AE_FILE}, {SPEC_FILE}): an untrained model folder "
                                   "can predict frames, not rebuild wafers; train one with `codesign train`")
        if self._autoencoder is None:
            from codesign.training import load_autoencoder

            self._autoencoder, self._spec = load_autoencoder(self.folder)
        return self._autoencoder, self._spec

    def predict(self, calq: np.ndarray) -> EncodedWafers:
        """(n, 48) CALQ charges in -> ``EncodedWafers`` (latents, sum codes, sparse-mode flags, frames and,
        where the format fits, the chip's autoencoder frames), bit-exact with the hardware."""
        from codesign.hardware.vectors import encode

        return encode(self.keras_encoder, self.config, _as_calq(calq))

    def held_out(self, data: str | None = None, n_wafers: int = 0) -> np.ndarray:
        """(n, 48) the test split of ``data`` (a file, bare name or ``synth:PRESET``; default the real
        ``highpu_dev.csv``) by this model's training spec (fractions and seed), as ``codesign evaluate`` takes
        it: wafers its training never saw when ``data`` is one of its sources. ``n_wafers`` > 0: the first."""
        from codesign.training import held_out_wafers, load_ae_spec

        if not (self.folder / SPEC_FILE).is_file():
            raise ModelFolderError(f"{self.folder}: no {SPEC_FILE}: an untrained model folder has no training split")
        return held_out_wafers(load_ae_spec(self.folder / SPEC_FILE), data, n_wafers)

    def reconstruct(self, calq: np.ndarray) -> np.ndarray:
        """(n, 48) unit-sum wafers: what the off-chip decoder (and the sparse mode) rebuild from the frames."""
        from codesign.evaluation import autoencoder_reconstruction

        ae, spec = self._trained()
        return autoencoder_reconstruction(ae, spec, _as_calq(calq)).wafers

    def evaluate(self, calq: np.ndarray, *, elinks: int | None = None, modules: tuple[str, ...] = ("hd", "ld"),
                 decoder: str | Path | None = None) -> Evaluation:
        """Exact EMD of this encoder and of the arena (every chip algorithm with its best back end and
        naively, the entropy codec, the floor) at ``elinks`` (default: the encoder's) for each module type,
        on the same wafers; ``decoder``: a quantized back-end decoder folder (``codesign train-decoder``,
        e.g. a reference's ``qdecoder``) scored too, as ``qdecoder:<name>``."""
        from codesign.econt.algorithms import MAX_ELINKS, MODULE_PRESETS
        from codesign.evaluation import evaluate_model
        from codesign.models.qdecoder import load_quantized_decoder

        if elinks is not None and not 1 <= elinks <= MAX_ELINKS:
            raise InputError(f"elinks: 1..{MAX_ELINKS} or None (the encoder's own count), got {elinks}")
        unknown = sorted(set(modules) - set(MODULE_PRESETS))
        if unknown or not modules:
            raise InputError(f"modules: a non-empty choice of {', '.join(sorted(MODULE_PRESETS))}, got {modules}")
        ae, spec = self._trained()
        quantized = None if decoder is None else load_quantized_decoder(decoder)
        metrics, emds = evaluate_model(ae, spec, _as_calq(calq), elinks=elinks, modules=modules, decoder=quantized)
        return Evaluation(f"autoencoder:{spec.name}", metrics, emds)

    def write_rtl(self, out_dir: str | Path, *, clock_period_ns: float = 25.0, calq_bits: int = 22,
                  pipelining: Pipelining | str = "asic", force: bool = False) -> RtlInfo:
        """Verilog of the encoder behind the CALQ-to-frame top (``codesign rtl``); returns its ``RtlInfo``."""
        return self.to_rtl(out_dir, clock_period_ns=clock_period_ns, calq_bits=calq_bits,
                           pipelining=pipelining).write(force=force).info

    def to_hls(self, out_dir: str | Path, *, backend: str = "vitis", reuse_factor: int = 1,
               strategy: str = "latency", clock_period_ns: float = 25.0,
               config: dict[str, Any] | None = None) -> HlsProject:
        """The encoder as an hls4ml project in ``out_dir`` (written now); ``config`` replaces the derived hls4ml
        configuration, e.g. ``project.config`` of an earlier call after editing it."""
        from codesign.hardware.hls import HlsSettings, write_hls_project

        settings = HlsSettings(backend, reuse_factor, strategy, clock_period_ns)
        graph = write_hls_project(self.keras_encoder, self.config, settings, out_dir=out_dir, config=config)
        return HlsProject(self, settings, Path(out_dir), graph)

    def to_rtl(self, out_dir: str | Path, *, clock_period_ns: float = 25.0, calq_bits: int = 22,
               pipelining: Pipelining | str = "asic") -> RtlDesign:
        """The encoder behind the CALQ-to-frame top as an ``RtlDesign`` for ``out_dir`` (``.write()`` writes it;
        the other methods write it first when needed). ``pipelining``: "asic" (fewest registers), "fpga" (for 40 MHz
        on an ECP5) or a ``codesign.hardware.rtl.Pipelining``."""
        return RtlDesign(self, Path(out_dir), clock_period_ns=clock_period_ns, calq_bits=calq_bits,
                         pipelining=pipelining)

    def __repr__(self) -> str:
        fmt = self.frame_format
        coding = fmt.cell_coding
        mode = (f", sparse mode up to {self.config.sparse_max_occupancy} inputs as {coding.describe()}"
                if fmt.sparse_mode else "")
        decoder = "trained decoder" if self.trained else "encoder only"
        return (f"Model({str(self.folder)!r}: {fmt.elinks} eLinks, {fmt.n_latents} x {fmt.latent_bits}-bit latents"
                f"{mode}, {fmt.width}-bit frame, {decoder})")


@dataclass
class HlsProject:
    """An hls4ml project of a model's encoder (``Model.to_hls``), as hls4ml users know it: ``compile()``,
    ``predict()``, ``build()``, and ``config`` (hls4ml's configuration dict)."""

    model: Model
    settings: HlsSettings
    folder: Path
    graph: Any = field(repr=False)  # the hls4ml ModelGraph
    compiled: bool = False

    @property
    def config(self) -> dict[str, Any]:
        """The hls4ml configuration (``Model`` / ``LayerName`` precisions, reuse, strategy) this project was
        converted with: edit it and pass it to ``Model.to_hls(config=...)``."""
        return self.graph.config.config["HLSConfig"]

    def compile(self) -> HlsProject:
        """Compile the bit-accurate C simulation (g++)."""
        from codesign.hardware.hls import compile_csim

        compile_csim(self.graph)
        self.compiled = True
        return self

    def predict(self, calq: np.ndarray) -> np.ndarray:
        """(n, 48) CALQ charges -> (n, latents) latent integers from the C simulation (on-chip conversion
        first, as in ``Model.predict``)."""
        from codesign.data.onchip import onchip_convert
        from codesign.hardware.hls import csim_latents
        from codesign.models.encoder import encoder_inputs

        if not self.compiled:
            self.compile()
        return csim_latents(self.graph, encoder_inputs(onchip_convert(_as_calq(calq)).inputs, self.model.config),
                            self.model.config)

    def check(self, calq: np.ndarray, source: str = "given wafers") -> CsimCheck:
        """``CsimCheck`` of the C simulation against Keras on ``calq`` (raises ``VerificationError`` on a
        mismatch)."""
        from codesign.hardware.hls import check_csim

        self.compiled = True
        return check_csim(self.graph, self.model.keras_encoder, self.model.config, calq=_as_calq(calq), source=source)

    def build(self) -> dict[str, Any]:
        """The vendor HLS synthesis (needs its tool on PATH; ``ToolNotFoundError`` says so otherwise)."""
        from codesign.hardware.hls import run_hls_synthesis

        return run_hls_synthesis(self.graph, self.settings, self.folder)

    def __repr__(self) -> str:
        s = self.settings
        return (f"HlsProject({str(self.folder)!r}: {s.backend}, io_parallel, {s.strategy}, reuse {s.reuse_factor}, "
                f"{1000 / s.clock_period_ns:.0f} MHz, {'compiled' if self.compiled else 'not compiled'})")


@dataclass
class RtlDesign:
    """A model's encoder behind the CALQ-to-frame top (``Model.to_rtl``), as da4ml's RTL object: ``write()``,
    ``simulate()`` (cocotb), ``verify()`` (bulk, compiled), ``lint()``, ``synthesize()``; ``info`` is what
    ``rtl.json`` records."""

    model: Model
    folder: Path
    clock_period_ns: float = 25.0
    calq_bits: int = 22
    pipelining: Pipelining | str = "asic"  # a preset name or a codesign.hardware.rtl.Pipelining
    simulation: SimResult | None = None  # of the last simulate()

    @property
    def written(self) -> bool:
        return (self.folder / "rtl.json").is_file()

    @property
    def info(self) -> RtlInfo:
        from codesign.hardware.rtl import RtlInfo

        return RtlInfo.load(self._written().folder)

    def write(self, *, force: bool = False) -> RtlDesign:
        """Generate the Verilog (replaces a folder codesign wrote, or any with ``force``)."""
        from codesign.hardware.rtl import write_rtl

        write_rtl(self.model.keras_encoder, self.model.config, self.folder, clock_period_ns=self.clock_period_ns,
                  pipelining=self.pipelining, calq_bits=self.calq_bits, force=force)
        return self

    def _written(self) -> RtlDesign:
        return self if self.written else self.write()

    def simulate(self, calq: np.ndarray | None = None, *, simulator: str = "verilator", seed: int = 0) -> SimResult:
        """cocotb testbenches on ``calq`` (default: 400 real wafers when present) plus corner cases, frames
        from Keras as expected values; returns the ``SimResult`` (``SimulationFailed`` on a mismatch)."""
        from codesign.hardware.sim.runner import run_simulation
        from codesign.hardware.vectors import check_wafers, make_vectors, write_vectors

        self._written()
        wafers, source = (_as_calq(calq), "given wafers") if calq is not None else check_wafers(None, 400)
        vectors = self.folder / "vectors"
        write_vectors(vectors, make_vectors(self.model.keras_encoder, self.model.config, wafers,
                                            calq_bits=self.calq_bits, seed=seed),
                      force=True, model=str(self.model.folder), data=source, seed=seed)
        self.simulation = run_simulation(self.folder, vectors, simulator)
        return self.simulation

    def verify(self, calq: np.ndarray | None = None, *, n: int = 1_000_000, seed: int = 0, engine: str = "rtl",
               progress: bool = True) -> BulkReport:
        """Bulk check (``codesign verify``): ``n`` wafers (``calq``, default the real ones when present, then
        corner cases, synthetic and rescaled ones) through the top compiled with a C++ main (``engine="rtl"``)
        or its synthesised gates bit-sliced (``"gates"``), every frame against Keras; returns the
        ``BulkReport`` (``VerificationError`` on a mismatch)."""
        from codesign.asic.gate_harness import ENGINES, harness_builder
        from codesign.hardware.sim.bulk import verify_bulk
        from codesign.hardware.vectors import check_wafers

        build = harness_builder(engine)
        self._written()
        real = _as_calq(calq) if calq is not None else check_wafers(None)[0]
        return verify_bulk(self.model.keras_encoder, self.model.config, self.folder, self.folder / ENGINES[engine],
                           real=real, n=n, seed=seed, progress=progress, build=build).check()

    def lint(self) -> list[str]:
        """``verilator --lint-only -Wall`` warnings of the whole folder (the generated top and the core)."""
        from codesign.hardware.rtl import lint_rtl

        return lint_rtl(self._written().folder)

    def synthesize(self, *, liberty: str | Path | None = None, split: bool = False) -> AsicReport:
        """Yosys ASIC synthesis (gate equivalents, or a library's area and OpenSTA timing) into ``asic/``."""
        from codesign.asic.synth import synthesize_asic

        return synthesize_asic(self._written().folder, self.folder / "asic", liberty, split=split)

    def __repr__(self) -> str:
        if not self.written:
            return f"RtlDesign({str(self.folder)!r}: not written yet)"
        i = self.info
        sim = (f"simulated: {self.simulation.n_tests} tests passed on {self.simulation.n_vectors} vectors "
               f"({self.simulation.simulator})" if self.simulation else "not simulated")
        return (f"RtlDesign({str(self.folder)!r}: {i.top}, {48 * i.calq_bits}-bit CALQ in, {i.frame_bits}-bit frame "
                f"out, latency {i.latency_cycles} cycles at {1000 / i.clock_period_ns:.0f} MHz, II "
                f"{i.initiation_interval}, ~{i.estimated_luts:.0f} LUTs (da4ml estimate), {sim})")


def train(spec: str | Path | Any, out_dir: str | Path, *, progress: bool = True, force: bool = False,
          **overrides: Any) -> Model:
    """Train an autoencoder spec (a YAML path or an ``AutoencoderSpec``) into model folder ``out_dir`` and load
    it; ``overrides`` change fields by name or dotted key, validated as in the YAML
    (``train("models/econt_demo.yaml", "out/m", epochs=3, **{"encoder.elinks": 4})``). Rerunning into the
    same folder resumes an interrupted training; a folder of other files is refused unless ``force``."""
    from codesign.config import with_overrides
    from codesign.models.autoencoder import AutoencoderSpec
    from codesign.training import load_ae_spec, train_autoencoder

    where = "overrides"
    if isinstance(spec, str | Path):
        where, spec = f"{spec} (overrides)", load_ae_spec(spec)
    spec = with_overrides(AutoencoderSpec, spec, overrides, where) if overrides else spec
    train_autoencoder(spec, out_dir, progress=progress, force=force)
    return load_model(out_dir)


def load_system(folder: str | Path) -> TableSystem:
    """A table system's folder (``codesign train`` of a ``table_system`` recipe, e.g.
    ``models/reference/econt_2elink_table``): ``.codec(module)``, ``.table(module)``, ``.back_end(module)``,
    ``.reconstructions(calq)``; ``evaluate_system`` places it in the arena."""
    from codesign.table_system import load_table_system

    return load_table_system(folder)


def evaluate_system(system: TableSystem | str | Path, calq: np.ndarray, *, module: str) -> Evaluation:
    """Exact EMD of a table system (or its folder) and of the arena at its eLink count on the same wafers, as
    ``codesign evaluate --model SYSTEM``; the ``Evaluation``'s own row is ``system:<name>:<module>``."""
    from codesign.evaluation import evaluate_table_system

    system = load_system(system) if isinstance(system, str | Path) else system
    if module not in system.modules:
        raise InputError(f"module: {system.spec.name} serves {', '.join(system.modules)}, got {module!r}")
    metrics, emds = evaluate_table_system(system, _as_calq(calq))
    return Evaluation(f"system:{system.spec.name}:{module}", metrics, emds)


def load_model(folder: str | Path) -> Model:
    """The model folder ``folder`` (written by ``codesign train`` or ``codesign model init``)."""
    path = Path(folder)
    if not (path / ENCODER_FILE).is_file():
        raise ModelFolderError(f"{path}: not a model folder (no {ENCODER_FILE})")
    return Model(path, load_encoder_config(path))


CALQ_MAX = (1 << 22) - 1  # the chip's CALQ words are 22 bits


def _as_calq(calq: np.ndarray) -> np.ndarray:
    """The same checks as a wafer file's: (n >= 1, 48) integers in the chip's 22-bit range."""
    calq = np.asarray(calq)
    if calq.ndim != 2 or calq.shape[1] != N_TC or not np.issubdtype(calq.dtype, np.integer):
        raise InputError(f"expected (n, {N_TC}) integer CALQ charges, got {calq.dtype} of shape {calq.shape}")
    if len(calq) == 0:
        raise InputError("no wafers: expected (n, 48) CALQ charges with n >= 1")
    bad = np.argwhere((calq < 0) | (calq > CALQ_MAX))
    if bad.size:
        row, col = (int(x) for x in bad[0])
        raise InputError(f"wafer {row}, CALQ_{col} = {calq[row, col]}: CALQ charges are 0..{CALQ_MAX} (22 bits)")
    return calq
