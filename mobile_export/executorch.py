"""ExecuTorch (XNNPACK) export of the streaming decoder, verified with ExecuTorch's own runtime.

    python -m mobile_export.executorch --ckpt tq64.pt --out build/executorch \\
        [--precision int8|fp32] [--chunk-frames 16] [--calibration DIR] [--threads 1]

Path: ``torch.export`` of ``StreamingDecoder`` (fixed chunk, every state an input and an
output) → for int8, torchao ``prepare_pt2e``/``convert_pt2e`` with ``XNNPACKQuantizer``
(``quantize_xnnpack``; every conv/linear int8, the LSTM's matmuls included, its cell
arithmetic fp32), calibrated on real-music codes streamed with state carried →
``to_edge_transform_and_lower`` with ``XnnpackPartitioner`` → ``to_executorch`` → the
``.pte`` written atomically.  Then the written file is run by ``executorch.runtime`` at
one thread over the calibration music (default: the shipped clip, both channels, 24 s),
chunk by chunk with state carried, against the float PyTorch decoder.

Output, per artifact, in ``--out``: ``<config>-<precision>-k<K>.pte`` and beside it
``<config>-<precision>-k<K>.manifest.json`` (one manifest per artifact, so fp32 and int8
builds and several chunk sizes can share a folder; apps open the manifest with the same
stem as the ``.pte``).  Exit status: 0 passed; 1 a threshold failed (SNR/LSD vs float,
≥ 95 % of MACs delegated, int8 size bound) — the manifest is still written and says so;
2 a usage error (one line on stderr).

XNNPACK quirks handled here, never in the model (see design/EXPORT-NOTES.md):
* ``select``/``unsqueeze`` on a size-1 dimension become ``reshape`` — the partitioner
  rejects the former (select_copy; unsqueeze only on the trailing dim) and each one
  splits the delegate;
* a conv/linear bias that another op also reads gets its own copy (shared bias
  tensors segfault the fp32 runtime and fail int8 init);
* ELU is exported as ``aten.elu`` (``StreamingDecoder.use_native_elu``: one XNNPACK op
  instead of five, measured ~10 % less time per chunk) and ``EluConfig`` joins the
  partitioner configs (it is not in 1.5.1's default list).
int8 keeps the decoder's output stage (last upsampler, its residual block, ``conv_out``:
12.7 % of tq64's MACs) in fp32 by default, as the other backends do
(``StreamingDecoder.output_stage`` says why); ``--keep-float`` overrides it.
If int8 still misses its thresholds, the per-layer sensitivity is measured and the layers that
buy back the most dB (never the LSTM's matmuls) are kept in fp32 inside the delegate;
the manifest reports the share of MACs that still run in int8.
"""
from __future__ import annotations

import argparse
import copy
import functools
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tqcodec.checkpoint import CheckpointError, resolve_checkpoint

from .calibration import add_calibration_seconds_option
from .delegation import mac_shares

MAX_CHUNK_FRAMES = 256  # the LSTM is unrolled over the chunk: larger K only grows the graph
MIN_DELEGATED_SHARE = 0.95
INT8_SIZE_SLACK_BYTES = 1_000_000  # int8 .pte ≤ 1.25 B per parameter + 1 MB
MIN_VERIFY_SECONDS = 20.0
WARMUP_CHUNKS = 10
MIXED_MARGIN_DB = 1.0  # mixed precision aims this far above the SNR threshold
MIXED_MAX_FLOAT_LAYERS = 4
MIXED_MIN_INT8_SHARE = 0.80
SENSITIVITY_SECONDS = 1.0


class ExportError(Exception):
    """A usage problem (bad argument, missing file): one line for the user, no traceback."""


def _quiet() -> None:
    """Silence import-time noise of the toolchain (CUDA .so probes, deprecations), not errors."""
    logging.getLogger("torchao").setLevel(logging.ERROR)
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")


# -- export and lowering ----------------------------------------------------------------------
def example_inputs(decoder) -> tuple[torch.Tensor, ...]:
    return (torch.zeros(decoder.input_spec().shape, dtype=torch.int32), *decoder.init_state())


def _reshape_size_one_views(gm: torch.fx.GraphModule) -> int:
    """``select``/``unsqueeze`` that only drop or add a size-1 dim → ``reshape`` (delegable)."""
    n_changed = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target not in (torch.ops.aten.select.int,
                                                              torch.ops.aten.unsqueeze.default):
            continue
        src = node.args[0]
        if node.target is torch.ops.aten.select.int and src.meta["val"].shape[node.args[1]] != 1:
            continue
        shape = list(node.meta["val"].shape)
        with gm.graph.inserting_before(node):
            new = gm.graph.call_function(torch.ops.aten.reshape.default, (src, shape))
        new.meta = dict(node.meta)
        node.replace_all_uses_with(new)
        gm.graph.erase_node(node)
        n_changed += 1
    return n_changed


def _unshare_biases(gm: torch.fx.GraphModule) -> int:
    """Give every conv/linear bias that another node also reads its own tensor."""
    users: dict[str, list[torch.fx.Node]] = {}
    for node in gm.graph.nodes:
        if node.op == "get_attr":
            users.setdefault(node.target, []).extend(node.users)
    n_copies = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target not in (torch.ops.aten.conv1d.default,
                                                              torch.ops.aten.conv2d.default,
                                                              torch.ops.aten.linear.default):
            continue
        bias = node.args[2] if len(node.args) > 2 else None
        if not isinstance(bias, torch.fx.Node) or bias.op != "get_attr" or len(users[bias.target]) <= 1:
            continue
        name = f"_own_bias_{n_copies}"
        gm.register_buffer(name, functools.reduce(getattr, bias.target.split("."), gm).detach().clone())
        with gm.graph.inserting_before(node):
            own = gm.graph.get_attr(name)
        own.meta = dict(bias.meta)
        node.replace_input_with(bias, own)
        users[bias.target].remove(node)
        n_copies += 1
    return n_copies


def _half_precision_tables(gm: torch.fx.GraphModule) -> int:
    """Store embedding tables (the stacked codebooks) in fp16 and widen the gathered rows.

    The gather stays on the portable kernels (XNNPACK has none, and the quantized
    ``embedding_byte`` kernel is not in the stock runtime), so the XNNPACK quantizer
    leaves the table fp32: 4 bytes per entry, a third of a tq64 int8 program.  fp16
    halves that at ~70 dB on the latent, far below int8's own noise.
    """
    n_tables = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target is not torch.ops.aten.embedding.default:
            continue
        table = node.args[0]
        if table.op != "get_attr":
            continue
        name = f"_half_table_{n_tables}"
        gm.register_buffer(name, functools.reduce(getattr, table.target.split("."), gm).detach().half())
        with gm.graph.inserting_before(node):
            half = gm.graph.get_attr(name)
        node.replace_input_with(table, half)
        with gm.graph.inserting_after(node):
            wide = gm.graph.call_function(torch.ops.aten.to.dtype, (node, torch.float32))
        node.replace_all_uses_with(wide, delete_user_cb=lambda user: user is not wide)
        wide.meta = dict(node.meta)
        node.meta["val"] = node.meta["val"].half() if "val" in node.meta else None
        n_tables += 1
    return n_tables


def export_decoder(decoder, half_tables: bool = False, inputs: tuple | None = None) -> torch.fx.GraphModule:
    """torch.export → a plain graph module with XNNPACK's quirks fixed (the input to PT2E);
    ``half_tables`` stores the codebook table in fp16 (int8 builds).  ``decoder`` may be a
    module that runs part of the step (``profiling.time_split``) when ``inputs`` are given."""
    gm = torch.export.export(decoder, inputs or example_inputs(decoder), strict=False).module()
    _reshape_size_one_views(gm)
    if half_tables:
        _half_precision_tables(gm)
    gm.graph.eliminate_dead_code()
    gm.graph.lint()
    gm.recompile()
    return gm


def lower(gm: torch.fx.GraphModule, decoder, inputs: tuple | None = None):
    """Graph module (float or q/dq) → (edge program lowered to XNNPACK, ExecuTorch program).
    ``inputs``: example inputs when ``gm`` is not the whole step (default: the decoder's)."""
    from executorch.backends.xnnpack.partition.config import ALL_PARTITIONER_CONFIGS
    from executorch.backends.xnnpack.partition.config.generic_node_configs import EluConfig
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    if _unshare_biases(gm):
        gm.graph.lint()
        gm.recompile()
    ep = torch.export.export(gm, inputs or example_inputs(decoder), strict=False)
    configs = list(ALL_PARTITIONER_CONFIGS)
    if any(n.target is torch.ops.aten.elu.default for n in ep.graph.nodes):
        configs.append(EluConfig)  # not in 1.5.1's default list
    edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner(configs=configs)])
    shares = mac_shares(edge.exported_program())  # before to_executorch, which rewrites the graph
    return shares, edge.to_executorch()


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file beside ``path``, fsync, rename: a reader never sees half an artifact."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; an artifact is for others to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the runtime side ---------------------------------------------------------------------------
def set_runtime_threads(threads: int) -> None:
    """ExecuTorch's CPU threadpool (XNNPACK uses it) is process-wide; resize it once."""
    from executorch.extension.pybindings import portable_lib

    if portable_lib._threadpool_get_thread_count() != threads:
        portable_lib._unsafe_reset_threadpool(threads)


class ExecuTorchChunkRunner:
    """Run a decoder ``.pte`` one chunk at a time with ExecuTorch's runtime.

    ``manifest`` is the artifact's manifest (dict or path; default: the
    ``<stem>.manifest.json`` beside the ``.pte``): it gives the state layout.
    ``run_chunk(codes int32 [1, n_q, K], state) -> (audio float32 [samples], new state)``.
    """

    def __init__(self, pte_path, manifest=None, threads: int = 1):
        from executorch.runtime import Runtime

        pte_path = Path(pte_path)
        if manifest is None:
            manifest = pte_path.with_name(pte_path.name.removesuffix(".pte") + ".manifest.json")
        if not isinstance(manifest, dict):
            with open(manifest) as f:
                manifest = json.load(f)
        self.manifest = manifest
        self.state_specs = manifest["state"]
        self.codes_shape = tuple(manifest["inputs"][0]["shape"])
        set_runtime_threads(threads)
        self._program = Runtime.get().load_program(pte_path)
        self._method = self._program.load_method("forward")
        meta = self._method.metadata
        if meta.num_inputs() != 1 + len(self.state_specs):
            raise ValueError(f"{pte_path}: program takes {meta.num_inputs()} inputs, manifest describes "
                             f"{1 + len(self.state_specs)}")

    def init_state(self) -> list[np.ndarray]:
        return [np.zeros(s["shape"], dtype=s["dtype"]) for s in self.state_specs]

    def run_chunk(self, codes: np.ndarray, state: list) -> tuple[np.ndarray, list[np.ndarray]]:
        codes = np.ascontiguousarray(codes, dtype=np.int32).reshape(self.codes_shape)
        inputs = [torch.from_numpy(codes)] + [torch.from_numpy(np.ascontiguousarray(s, dtype=np.float32))
                                              for s in state]
        out = self._method.execute(inputs)
        return out[0].numpy().reshape(-1), [t.numpy() for t in out[1:]]


def decode_with_pte(pte_path, codes: np.ndarray, manifest=None, threads: int = 1) -> np.ndarray:
    """Decode codes [C, n_q, F] (or [n_q, F]) with a ``.pte``, each channel streamed from zero
    state; F is zero-padded to whole chunks and trimmed.  Returns float32 [C, F·hop]."""
    runner = ExecuTorchChunkRunner(pte_path, manifest, threads)
    codes = np.asarray(codes)
    if codes.ndim == 2:
        codes = codes[None]
    K = runner.manifest["chunk_frames"]
    hop = runner.manifest["hop"]
    frames = codes.shape[-1]
    padded = np.pad(codes, ((0, 0), (0, 0), (0, (-frames) % K)))
    out = []
    for ch in padded:
        state = runner.init_state()
        pieces = []
        for start in range(0, ch.shape[-1], K):
            audio, state = runner.run_chunk(ch[None, :, start:start + K], state)
            pieces.append(audio)
        out.append(np.concatenate(pieces)[: frames * hop])
    return np.stack(out).astype(np.float32)


class TimedRunner:
    """Wraps ``run_chunk`` and keeps each call's wall time (the RTF figure)."""

    def __init__(self, run_chunk):
        self._run, self.times = run_chunk, []

    def __call__(self, codes, state):
        t = time.perf_counter()
        result = self._run(codes, state)
        self.times.append(time.perf_counter() - t)
        return result

    def summary(self, chunk_seconds: float, threads: int) -> dict:
        excluded = WARMUP_CHUNKS if len(self.times) > WARMUP_CHUNKS else 0
        times = self.times[excluded:]
        median = statistics.median(times)
        p95 = sorted(times)[min(len(times) - 1, int(0.95 * len(times)))]
        return {
            "threads": threads,
            "chunks_timed": len(times),
            "warmup_chunks_excluded": excluded,
            "ms_per_chunk_median": round(1e3 * median, 4),
            "ms_per_chunk_p95": round(1e3 * p95, 4),
            "chunk_ms": round(1e3 * chunk_seconds, 4),
            "real_time_factor_median": round(median / chunk_seconds, 5),
            "host": _host(),
            "method": "executorch.runtime on this host, Python call overhead included; "
                      "time per chunk / chunk duration (below 1 = faster than real time)",
        }


def _host() -> str:
    import platform

    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return f"{platform.machine()} {model}".strip()


# -- calibration music ---------------------------------------------------------------------------
def load_music(ckpt: Path, source, cache_dir: Path | None = None):
    """Real-music codes (``calibration.load_music``), with this exporter's error type."""
    from tqcodec.checkpoint import CheckpointError

    from . import calibration

    try:
        return calibration.load_music(ckpt, source, cache_dir)
    except CheckpointError as e:
        raise ExportError(f"{e} (calibration music is encoded with the full checkpoint's encoder)") from None
    except (FileNotFoundError, ValueError) as e:
        raise ExportError(str(e)) from None


# -- the whole export --------------------------------------------------------------------------
@dataclass
class ExportResult:
    pte: Path
    manifest_path: Path
    manifest: dict
    failures: list[str] = field(default_factory=list)


def choose_float_layers(decoder, calib, threshold_db: float, log=print, seconds: float | None = None,
                        choose: bool = True, base_keep: tuple[str, ...] = ()):
    """Per-layer SNR, then (``choose``) the fewest noisy layers kept fp32 on top of
    ``base_keep`` (never an LSTM layer) to clear ``threshold_db`` + a margin.
    Returns (layers kept fp32, base_keep included; findings)."""
    seconds = seconds or SENSITIVITY_SECONDS
    from .quantize_xnnpack import calibration_chunks, decoder_groups, quantize, sensitivity, simulated_snr
    from .streaming import in_modules

    groups = decoder_groups(decoder)
    total = sum(groups.values())
    exported = export_decoder(decoder, half_tables=True)
    fresh = functools.partial(copy.deepcopy, exported)  # prepare_pt2e rewrites its input
    base, costs = sensitivity(fresh, decoder, calib.codes, groups, seconds, keep_float=base_keep)
    log(f"per-layer SNR ({seconds:g} s per excerpt; each layer alone in int8, q/dq graph in PyTorch); "
        f"all int8 but {', '.join(base_keep) or 'nothing'}: {base:.2f} dB")
    for c in costs:
        log(f"  {c.group:<16s} {c.snr_db_alone:6.2f} dB alone  {100 * c.noise_share:5.1f}% of the noise  "
            f"{100 * c.mac_share:5.1f}% of MACs")
    keep: list[str] = list(base_keep)
    snr = base
    chunks = calibration_chunks(decoder, calib.codes, seconds)
    kept_macs = sum(v for g, v in groups.items() if in_modules(g, keep))
    added = 0
    for c in costs:
        if not choose or snr >= threshold_db + MIXED_MARGIN_DB or added >= MIXED_MAX_FLOAT_LAYERS:
            break
        if in_modules(c.group, keep):
            continue
        if c.group.startswith("lstm.") or (groups[c.group] and
                                           1 - (kept_macs + groups[c.group]) / total < MIXED_MIN_INT8_SHARE):
            continue  # the LSTM stays int8; big layers would give up the int8 speed
        keep.append(c.group)
        kept_macs += groups[c.group]
        added += 1
        q = quantize(fresh(), decoder, calib.codes, keep, seconds, desc=None)
        snr = simulated_snr(q, decoder, calib.codes, chunks)
        log(f"  keep fp32 {', '.join(keep)} → {snr:.2f} dB")
    findings = {"seconds_per_excerpt": seconds, "all_int8_snr_db": round(base, 2),
                "layers": [c.to_dict() for c in costs], "kept_fp32": keep, "snr_db_with_kept_fp32": round(snr, 2),
                "method": "per-layer SNR: each layer (module group) alone quantized, calibrated and run as the "
                          "q/dq graph in PyTorch with state carried, SNR vs float; candidates for fp32 are the "
                          "noisiest layers outside the LSTM, while ≥ 80 % of MACs stay int8",
                "base_keep_fp32": list(base_keep)}
    return keep, findings


def _check_arguments(chunk_frames: int, threads: int) -> None:
    if not 1 <= chunk_frames <= MAX_CHUNK_FRAMES:
        raise ExportError(f"--chunk-frames must be between 1 and {MAX_CHUNK_FRAMES}, got {chunk_frames}")
    if threads < 1:
        raise ExportError(f"--threads must be ≥ 1, got {threads}")


def export_executorch(ckpt, out_dir, precision: str = "int8", chunk_frames: int = 16, calibration=None,
                      threads: int = 1, music=None, calibration_seconds: float | None = None,
                      verify_seconds: float | None = None, keep_float: list[str] | None = None,
                      mixed_precision: bool = True, run_sensitivity: bool = False, log=print) -> ExportResult:
    """Export, lower, write, run and verify one artifact; returns it with its manifest.

    ``music`` (a ``calibration.MusicCodes``) skips encoding; ``calibration_seconds`` and
    ``verify_seconds`` shorten calibration and verification per excerpt (tests; the CLI
    verifies everything, ≥ 20 s); ``keep_float`` names the fp32 layers (None: the decoder's
    ``output_stage()``, see its docstring); ``mixed_precision`` lets a failing int8 build
    with the default layers keep its most sensitive other layers in fp32 and try again.
    """
    _quiet()
    from tqcodec.checkpoint import CheckpointError

    from .manifest import build_manifest, write_manifest
    from .prune import load_pruned
    from .quantize_xnnpack import quantize
    from .verify import THRESHOLDS, verify

    if precision not in ("fp32", "int8"):
        raise ExportError(f"precision must be fp32 or int8, got {precision!r}")
    _check_arguments(chunk_frames, threads)
    ckpt, out_dir = Path(ckpt), Path(out_dir)
    try:
        pruned = load_pruned(ckpt)
        decoder = pruned.streaming(chunk_frames).use_native_elu()
    except (CheckpointError, ValueError) as e:
        raise ExportError(str(e)) from None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"{out_dir}: cannot create output folder ({e.strerror})") from None
    forced = keep_float is not None
    if forced and keep_float and precision != "int8":
        raise ExportError("--keep-float only applies to --precision int8")
    keep = list(decoder.resolve_keep_float(keep_float)) if forced or precision == "int8" else []
    from .quantize_xnnpack import ROOT
    known = {name for name, _ in decoder.named_modules() if name} | {ROOT}
    unknown = [k for k in keep if k not in known]
    if unknown:
        raise ExportError(f"--keep-float: no decoder module {', '.join(map(repr, unknown))} (e.g. conv_out, "
                          f"res_blocks.2.0, {ROOT!r})")
    torch.set_num_threads(threads)
    cfg, K = decoder.config, chunk_frames
    if music is None:
        music = load_music(ckpt, calibration)
    if music.codes.shape[1] != cfg.n_codebooks:
        raise ExportError(f"calibration codes have {music.codes.shape[1]} codebooks, {cfg.name} has "
                          f"{cfg.n_codebooks}")
    usable = music.codes.shape[-1] // K * K
    if usable == 0:
        raise ExportError(f"calibration music is shorter than one chunk of {K} frames")
    from .calibration import slice_music

    verify_music = slice_music(music, usable)
    if verify_seconds is not None:
        verify_music = slice_music(music, max(K, min(usable, round(verify_seconds * cfg.frame_rate) // K * K)))
    name = f"{cfg.name}-{precision}-k{K}"
    pte, manifest_path = out_dir / f"{name}.pte", out_dir / f"{name}.manifest.json"
    log(f"{cfg.name}: {pruned.parameter_count:,} parameters; chunk {K} frames = {decoder.samples_per_chunk} "
        f"samples ({1e3 * decoder.samples_per_chunk / cfg.sample_rate:.2f} ms); {precision}")

    mixed_findings = None
    t0 = time.time()
    while True:
        gm = export_decoder(decoder, half_tables=precision == "int8")
        if precision == "int8":
            gm = quantize(gm, decoder, music.codes, keep, calibration_seconds)
        shares, program = lower(gm, decoder)
        write_atomic(pte, program.buffer)
        log(f"wrote {pte} ({pte.stat().st_size / 1e6:.2f} MB) in {time.time() - t0:.0f} s; "
            f"{shares.delegates} XNNPACK subgraph(s), {100 * shares.delegated_share:.2f}% of MACs delegated"
            + (f", {100 * shares.int8_share:.1f}% int8" if precision == "int8" else ""))
        manifest = build_manifest(backend="executorch-xnnpack", artifact=pte, precision=precision,
                                  decoder=decoder, source_sha256=pruned.source_sha256, gmacs_per_s=0.0,
                                  verification={}, trained=pruned.step > 0)
        runner = ExecuTorchChunkRunner(pte, manifest, threads)
        timed = TimedRunner(runner.run_chunk)
        v = verify(timed, runner.init_state(), decoder, verify_music, precision, progress="verify (runtime)")
        failures = v.failures()
        log(f"verification over {v.seconds:.1f} s ({v.chunks} chunks, state carried): SNR vs float "
            f"{v.snr_db_vs_float:.2f} dB, LSD delta {v.lsd_delta:+.4f}, max abs err {v.max_abs_err:.3g}")
        retry = (precision == "int8" and failures and mixed_precision and not forced and mixed_findings is None)
        if retry or (run_sensitivity and precision == "int8" and mixed_findings is None):
            chosen, mixed_findings = choose_float_layers(decoder, music, THRESHOLDS["int8"]["snr_db_vs_float"], log,
                                                         choose=bool(retry), base_keep=tuple(keep))
            if retry and chosen != keep:
                keep = chosen
                log(f"int8 missed its thresholds; rebuilding with {', '.join(keep)} in fp32")
                continue
        break

    from profiling.macs import count_macs
    macs_per_chunk, _ = count_macs(decoder, example_inputs(decoder))
    chunks_per_s = cfg.sample_rate / decoder.samples_per_chunk
    gmacs_per_s = macs_per_chunk * chunks_per_s / 1e9
    runtime = timed.summary(decoder.samples_per_chunk / cfg.sample_rate, threads)
    size = pte.stat().st_size
    size_bound = math.floor(1.25 * pruned.parameter_count) + INT8_SIZE_SLACK_BYTES
    if verify_seconds is None and v.seconds < MIN_VERIFY_SECONDS:
        failures.append(f"verified over {v.seconds:.1f} s of music < {MIN_VERIFY_SECONDS:g} s")
    if shares.delegated_share < MIN_DELEGATED_SHARE:
        failures.append(f"{100 * shares.delegated_share:.2f}% of MACs delegated < {100 * MIN_DELEGATED_SHARE:g}%")
    if precision == "int8" and size > size_bound:
        failures.append(f".pte {size:,} B > {size_bound:,} B (1.25 B/parameter + 1 MB)")
    if shares.total != macs_per_chunk:
        log(f"note: MACs from the lowered graph ({shares.total:,}) differ from fvcore ({macs_per_chunk:,})")
    verification = {**v.to_dict(), "passed": not failures, "failures": failures, "runtime": runtime}
    extra = {
        "artifact_kind": "ExecuTorch program (.pte), XNNPACK delegate",
        "parameter_count": pruned.parameter_count,
        "size_check": {"bytes": size, "bound_bytes": size_bound if precision == "int8" else None,
                       "rule": "int8 .pte ≤ 1.25 × parameter count bytes + 1 MB"},
        "delegation": shares.to_dict(),
        "int8_mac_share": round(shares.int8_share, 6),
        "kept_fp32": keep,
        "quantization": None if precision == "fp32" else {
            "tool": "torchao PT2E prepare_pt2e/convert_pt2e, XNNPACKQuantizer",
            "weights": "int8 symmetric per-channel", "activations": "int8 per-tensor (histogram observer)",
            "lstm": "input projection and recurrent matmuls int8; cell arithmetic (sigmoid/tanh, c and h "
                    "updates) fp32 inside the delegate",
            "calibration": "real-music codes streamed chunk by chunk, state carried from zeros",
            "calibration_seconds_per_excerpt": calibration_seconds,
            "codebook_table": "float16 (gathered on the portable kernels, widened to float32)",
            "sensitivity": mixed_findings},
        "real_time_factor": runtime["real_time_factor_median"],
        "macs_counted": "fvcore on the StreamingDecoder: conv, linear; not elementwise ops, biases, or "
                        "the codebook gather",
        "calibration_sources": list(music.sources),
        "toolchain": _versions(),
    }
    manifest = build_manifest(backend="executorch-xnnpack", artifact=pte, precision=precision, decoder=decoder,
                              source_sha256=pruned.source_sha256, gmacs_per_s=round(gmacs_per_s, 6),
                              verification=verification, trained=pruned.step > 0, extra=extra)
    write_manifest(manifest_path, manifest)

    log(f"parameters        {pruned.parameter_count:,}")
    log(f".pte size         {size / 1e6:.3f} MB" + (
        f" (bound {size_bound / 1e6:.3f} MB: {'ok' if size <= size_bound else 'OVER'})" if precision == "int8" else ""))
    log(f"SNR vs float      {v.snr_db_vs_float:.2f} dB (threshold {THRESHOLDS[precision]['snr_db_vs_float']:g})")
    log(f"LSD delta         {v.lsd_delta:+.4f}" + (" (threshold 0.05)" if precision == "int8" else ""))
    log(f"delegated MACs    {100 * shares.delegated_share:.2f}% in {shares.delegates} subgraph(s)"
        + (f"; outside: {', '.join(f'{k}×{n}' for k, n in shares.outside_ops.items())}" if shares.outside_ops else ""))
    if precision == "int8":
        log(f"int8 MACs         {100 * shares.int8_share:.1f}%" + (f" (fp32: {', '.join(keep)})" if keep else ""))
    log(f"GMAC/s            {gmacs_per_s:.3f}")
    log(f"real-time factor  {runtime['real_time_factor_median']:.4f} at {threads} thread(s) "
        f"({runtime['ms_per_chunk_median']:.3f} ms per {runtime['chunk_ms']:.2f} ms chunk, median)")
    log(f"manifest          {manifest_path}")
    log("PASSED" if not failures else "FAILED: " + "; ".join(failures))
    if not pruned.step:
        log("note: untrained weights — the figures compare backends, not trained quality")
    return ExportResult(pte, manifest_path, manifest, failures)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "executorch", "torchao"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mobile_export.executorch", description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, help="TQCodec checkpoint (the full one: its encoder makes the "
                                                 "calibration codes)")
    p.add_argument("--out", default="build/executorch", help="output folder (default: %(default)s)")
    p.add_argument("--precision", choices=["int8", "fp32"], default="int8")
    p.add_argument("--chunk-frames", type=int, default=16, help="frames per call (K; 64 samples each)")
    p.add_argument("--calibration", help="audio file or folder (default: the shipped clip, 24 s)")
    add_calibration_seconds_option(p)
    p.add_argument("--threads", type=int, default=1, help="runtime threads for verification/RTF (default 1)")
    p.add_argument("--keep-float", default=None, metavar="MODULES",
                   help="comma-separated decoder modules kept in fp32 in int8 builds (default: the output stage, "
                        "e.g. upsamplers.2,res_blocks.2,conv_out for tq64; '' for none; also '<root>')")
    p.add_argument("--no-mixed-precision", action="store_true",
                   help="do not retry a failing int8 build with its most sensitive layers in fp32")
    p.add_argument("--sensitivity", action="store_true",
                   help="measure the per-layer SNR even when int8 passes (recorded in the manifest)")
    args = p.parse_args(argv)
    _quiet()
    try:
        _check_arguments(args.chunk_frames, args.threads)
        try:
            args.ckpt = resolve_checkpoint(args.ckpt)
        except CheckpointError as e:
            raise ExportError(str(e)) from None
        if args.calibration_seconds is not None and args.calibration_seconds <= 0:
            raise ExportError("--calibration-seconds must be positive")
        result = export_executorch(args.ckpt, args.out, args.precision, args.chunk_frames, args.calibration,
                                   args.threads, calibration_seconds=args.calibration_seconds,
                                   keep_float=None if args.keep_float is None else
                                   [k for k in args.keep_float.split(",") if k],
                                   mixed_precision=not args.no_mixed_precision, run_sensitivity=args.sensitivity)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
