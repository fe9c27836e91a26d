"""Multiply-accumulates per second of audio, counted from an exported artifact itself.

``python -m profiling.macs --artifact FILE [--artifact FILE2 ...] [--json]``

A count of the PyTorch module says nothing about the file that ships, so each backend reads
its own file back (``mobile_export/backends/<name>/file_macs.py``: the ``.pte`` program and
its XNNPACK payloads, the ``.tflite`` flatbuffer, the ``.mlpackage`` ML program, the
``.onnx`` graph) into MAC ops; this module matches them to the reference and the budget.

Rules (fvcore's, so the counts are comparable): a convolution costs its output
positions × input channels per group × kernel taps, a transposed convolution its input
positions × output channels per group × taps, a linear/matmul M·N·K.  Biases and
elementwise ops are not MACs (they are listed as "other ops").  An op that does MACs
but has no rule here (a fused LSTM, attention, einsum, control flow, an opaque
delegate) is reported as uncounted and fails the check: it is never silently 0.

Per second of audio per channel: ``MACs per call × sample_rate / samples_per_chunk / channels``,
where ``samples_per_chunk = chunk_frames · hop``; K, the channels one call decodes and the
samples per chunk are read from the artifact's ``codes`` input ``[C, n_q, K]`` and ``audio``
output ``[C, 1, samples]`` and checked against the manifest (``<stem>.manifest.json``), which
names the config.  A stereo call does every MAC twice, so its per-channel figure equals the
mono decoder's (and fvcore's); ``macs_per_chunk`` stays per call.

The reference is ``profiling.macs``: fvcore on the offline decoder of that config
(``deployable_copy(TQCodec(config)).decoder`` over one second of frames).  The
streaming decoder that every backend exports (``tqcodec.streaming``) is counted
too, per conv/linear *call*, and each MAC op of the artifact is matched to one of those
calls (by output channels, input channels per group, taps and MACs), so any difference
is located: either between the streaming rewrite and the offline decoder (per layer),
or between the artifact and the streaming decoder (named ops).  Agreement means within
2 % of the reference; a larger difference passes only when every MAC of it is accounted
for by a recognised structural cause (listed with numbers in the output).
"""
from __future__ import annotations

import json
import sys
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from mobile_export.artifact import manifest_path
from mobile_export.backends import backend_name_for_suffix, get_backend
from mobile_export.errors import ArtifactError, ExportError
from mobile_export.file_macs import ArtifactGraph, MacOp, prod, quiet_imports
from mobile_export.manifest import file_sha256, read_manifest
from tqcodec.configs import CodecConfig, get_config
from tqcodec.macs import count_macs, deployable_copy
from tqcodec.model import TQCodec
from tqcodec.prune import prune

from . import budget

AGREEMENT_TOLERANCE = 0.02  # relative, artifact vs the fvcore reference
KIND_LABELS = {"conv": "convolution", "depthwise_conv": "depthwise convolution",
               "transposed_conv": "transposed convolution", "fully_connected": "linear / fully connected",
               "matmul": "matmul / batch matmul", "attention": "attention (QKᵀ and AV)"}




# ----------------------------------------------------------------------------------------
# the reference: fvcore on the offline decoder (profiling.macs) and on the streaming one
# ----------------------------------------------------------------------------------------
@dataclass
class RefCall:
    layer: str  # streaming decoder module path
    kind: str
    macs: int
    out_channels: int
    in_channels: int
    taps: int

    def key(self) -> tuple:
        return (self.out_channels, self.in_channels, self.taps, self.macs)


@dataclass
class Reference:
    config: str
    chunk_frames: int
    offline_macs: int
    offline_seconds: float
    offline_layers: "OrderedDict[str, int]"  # offline decoder layer → MACs over offline_seconds
    streaming_macs_per_chunk: int  # fvcore on the StreamingDecoder, one chunk
    streaming_layers: "OrderedDict[str, int]"  # offline layer name → streaming MACs per chunk of its counterpart
    layer_names: dict  # offline layer → (streaming module, description)
    calls: list[RefCall]  # every conv/linear call of the streaming decoder, in call order
    samples_per_chunk: int
    sample_rate: int
    codebook_size: int
    n_codebooks: int
    channels: int = 1  # of the streaming decoder counted (its calls and per-chunk MACs cover every channel)

    @property
    def gmacs_per_s(self) -> float:
        return self.offline_macs / self.offline_seconds / 1e9

    @property
    def streaming_gmacs_per_s(self) -> float:
        """Per second of audio per channel."""
        return self.streaming_macs_per_chunk * self.sample_rate / self.samples_per_chunk / self.channels / 1e9


_REFERENCES: dict[tuple, Reference] = {}


def reference(config, chunk_frames: int, channels: int = 1) -> Reference:
    """fvcore counts for ``config`` (a ``CodecConfig``): the offline decoder over one second of
    frames exactly as ``profiling.macs.analyse_model`` counts it (one channel), and the
    ``channels``-channel streaming decoder's conv/linear calls for one chunk of ``chunk_frames``.
    Cached per (config, K, channels)."""
    key = (json.dumps(config.to_dict(), sort_keys=True), chunk_frames, channels)
    if key in _REFERENCES:
        return _REFERENCES[key]

    model = TQCodec(config).eval()  # untrained: MACs do not depend on the weights
    frames = round(1.0 * config.frame_rate)  # analyse_model(seconds=1)
    seconds = frames * config.hop_length / config.sample_rate
    offline = deployable_copy(model)
    with torch.no_grad():
        off_total, off_by = count_macs(offline.decoder, (torch.zeros(1, config.quantized_dim, frames),))
    off_layers = OrderedDict((k, v) for k, v in off_by.items() if k.count(".") == 1 and k.startswith("model.") and v)

    dec = prune(model, {}).streaming(chunk_frames, channels)
    example = (torch.zeros(dec.input_spec().shape, dtype=torch.int32), *dec.init_state())
    with torch.no_grad():
        st_total, st_by = count_macs(dec, example)
    calls: list[RefCall] = []

    def hook(name):
        def record(mod, inputs, output):
            if isinstance(mod, nn.Conv1d):
                taps = mod.kernel_size[0]
                calls.append(RefCall(name, "conv", output.numel() * (mod.in_channels // mod.groups) * taps,
                                     mod.out_channels, mod.in_channels // mod.groups, taps))
            else:
                calls.append(RefCall(name, "fully_connected", output.numel() * mod.in_features, mod.out_features,
                                     mod.in_features, 1))
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in dec.named_modules()
               if isinstance(m, (nn.Conv1d, nn.Linear))]
    try:
        with torch.no_grad():
            dec(*example)
    finally:
        for h in handles:
            h.remove()

    # offline layer ↔ streaming module (the same walk as StreamingDecoder.__init__)
    names: dict[str, tuple[str, str]] = {}
    stage = res = 0
    for i, layer in enumerate(offline.decoder.model):
        lname = f"model.{i}"
        tname = type(layer).__name__
        if hasattr(layer, "lstm"):
            names[lname] = ("lstm", "LSTM → gate matmuls (input projection batched over the chunk, recurrent "
                                    "matmul per frame)")
        elif hasattr(layer, "convtr"):
            names[lname] = (f"upsamplers.{stage}", "ConvTranspose1d → polyphase conv (kernel 2, stride·C_out "
                                                   "channels) + pixel shuffle")
            stage, res = stage + 1, 0
        elif tname == "SEANetResnetBlock":
            names[lname] = (f"res_blocks.{stage - 1}.{res}", "residual block: stateful dilated conv + 1×1 conv")
            res += 1
        elif hasattr(layer, "conv"):
            names[lname] = ("conv_in", "causal conv with its left context as state") if i == 0 else (
                "conv_out", "causal conv with its left context as state; to one channel it is a pointwise conv to "
                            "one channel per tap over the context frames too, then a shifted sum (TapSumConv1d)")
    st_layers = OrderedDict((k, st_by.get(names[k][0], 0) if k in names else 0) for k in off_layers)
    ref = Reference(config.name, chunk_frames, off_total, seconds, off_layers, st_total, st_layers, names, calls,
                    dec.samples_per_chunk, config.sample_rate, config.codebook_size, config.n_codebooks, channels)
    _REFERENCES[key] = ref
    return ref


# ----------------------------------------------------------------------------------------
# counting one artifact
# ----------------------------------------------------------------------------------------
@dataclass
class ArtifactReport:
    path: Path
    graph: ArtifactGraph
    manifest: dict | None
    manifest_path: Path | None
    chunk_frames: int | None
    samples_per_chunk: int | None
    sample_rate: int
    shape_source: str
    channels: int = 1  # channels one call decodes (codes input [C, n_q, K])
    reference: Reference | None = None
    problems: list[str] = field(default_factory=list)  # failed checks (exit 1)
    notes: list[str] = field(default_factory=list)
    explained: list[dict] = field(default_factory=list)  # structural differences, with MACs per chunk
    unmatched_artifact: list[MacOp] = field(default_factory=list)
    unmatched_reference: list[RefCall] = field(default_factory=list)

    @property
    def macs_per_chunk(self) -> int:
        return sum(op.macs for op in self.graph.mac_ops)

    @property
    def chunks_per_s(self) -> float:
        return self.sample_rate / self.samples_per_chunk

    @property
    def gmacs_per_s(self) -> float:
        """Per second of audio per channel (a stereo call's MACs over its two channels)."""
        return self.per_s(self.macs_per_chunk)

    def per_s(self, macs_per_chunk: float) -> float:
        """MACs of one call → GMAC per second of audio per channel."""
        return macs_per_chunk * self.chunks_per_s / self.channels / 1e9

    @property
    def int8_share(self) -> float:
        int8 = sum(op.macs for op in self.graph.mac_ops if op.int8)
        return int8 / self.macs_per_chunk if self.macs_per_chunk else 0.0

    @property
    def relative_difference(self) -> float | None:
        if self.reference is None:
            return None
        return self.gmacs_per_s / self.reference.gmacs_per_s - 1

    @property
    def unexplained_relative_difference(self) -> float | None:
        """The difference left once recognised structural causes are taken out."""
        if self.reference is None:
            return None
        explained = sum(e["gmacs_per_s"] for e in self.explained)
        return (self.gmacs_per_s - explained) / self.reference.gmacs_per_s - 1

    @property
    def agrees(self) -> bool:
        return self.reference is not None and abs(self.relative_difference) <= AGREEMENT_TOLERANCE

    @property
    def agrees_after_explanation(self) -> bool:
        return self.reference is not None and abs(self.unexplained_relative_difference) <= AGREEMENT_TOLERANCE

    def by_op(self) -> "OrderedDict[str, dict]":
        out: OrderedDict[str, dict] = OrderedDict()
        for op in sorted(self.graph.mac_ops, key=lambda o: o.op):
            e = out.setdefault(op.op, {"kind": op.kind, "count": 0, "macs_per_chunk": 0, "int8_macs_per_chunk": 0})
            e["count"] += 1
            e["macs_per_chunk"] += op.macs
            e["int8_macs_per_chunk"] += op.macs if op.int8 else 0
        for e in out.values():
            e["gmacs_per_s"] = self.per_s(e["macs_per_chunk"])
            e["share"] = e["macs_per_chunk"] / self.macs_per_chunk if self.macs_per_chunk else 0.0
        return out

    def by_layer(self) -> "OrderedDict[str, int]":
        out: OrderedDict[str, int] = OrderedDict()
        for op in self.graph.mac_ops:
            top = op.layer or "(unmatched)"
            out[top] = out.get(top, 0) + op.macs
        return out

    @property
    def passed(self) -> bool:
        return not self.problems


def _load_manifest(path: Path) -> tuple[dict | None, Path | None, list[str]]:

    notes = []
    try:
        mpath = manifest_path(path)
    except ArtifactError:  # no manifest beside it: counted from the file alone
        return None, None, notes
    try:
        manifest = read_manifest(mpath)
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{mpath}: unreadable manifest ({e})") from None
    if manifest.get("artifact") not in (None, path.name):
        notes.append(f"{mpath.name} describes {manifest.get('artifact')!r}, not {path.name}: ignored")
        return None, None, notes
    sha = manifest.get("artifact_sha256")
    if sha and sha != file_sha256(path):
        notes.append(f"{mpath.name}: artifact_sha256 differs from the file (manifest from another build?); "
                     "counts come from the file, the config from the manifest")
    return manifest, mpath, notes


def _config_from_manifest(manifest: dict):

    if manifest.get("config_detail"):
        return CodecConfig.from_dict(manifest["config_detail"])
    return get_config(manifest["config"])


def _match(report: ArtifactReport) -> None:
    """Pair each artifact MAC op with one streaming-decoder call: exact (O, I, taps, MACs) first,
    then MACs alone; both lists are in execution order, so equal keys pair in order."""
    ref = report.reference
    pending = list(range(len(ref.calls)))
    unmatched: list[MacOp] = []
    for keyfn_a, keyfn_r in ((lambda o: o.key(), lambda c: c.key()), (lambda o: o.macs, lambda c: c.macs)):
        buckets: dict = {}
        for i in pending:
            buckets.setdefault(keyfn_r(ref.calls[i]), []).append(i)
        todo = [op for op in report.graph.mac_ops if not op.layer]
        used = set()
        for op in todo:
            queue = buckets.get(keyfn_a(op))
            if queue:
                i = queue.pop(0)
                op.layer = ref.calls[i].layer
                used.add(i)
        pending = [i for i in pending if i not in used]
        unmatched = [op for op in report.graph.mac_ops if not op.layer]
    report.unmatched_artifact = unmatched
    report.unmatched_reference = [ref.calls[i] for i in pending]


def _explain(report: ArtifactReport) -> None:
    """Attribute the artifact-vs-reference difference to named causes, with numbers."""
    ref = report.reference
    # 1. streaming rewrite vs offline decoder, layer by layer (per second of audio)
    chunk_s = report.samples_per_chunk / report.sample_rate
    for lname, off in ref.offline_layers.items():
        off_per_s = off / ref.offline_seconds / 1e9
        st_per_s = ref.streaming_layers.get(lname, 0) / chunk_s / ref.channels / 1e9
        if abs(st_per_s - off_per_s) > 1e-12 * max(1.0, off_per_s):
            module, how = ref.layer_names.get(lname, ("?", "?"))
            report.explained.append({
                "cause": f"streaming rewrite of {lname} as {module}: {how}",
                "gmacs_per_s": st_per_s - off_per_s,
                "offline_gmacs_per_s": off_per_s, "streaming_gmacs_per_s": st_per_s})
    # 2. artifact vs streaming decoder: ops the lowering added or removed.  Recognised:
    #    the codebook gather lowered as a one-hot matmul (reduction over the codebook rows).
    rows = {ref.codebook_size, ref.codebook_size * ref.n_codebooks}
    lookups = [op for op in report.unmatched_artifact
               if op.kind in ("fully_connected", "matmul") and op.in_channels in rows]
    if lookups:
        report.explained.append({
            "cause": "codebook lookup lowered as a one-hot matmul (reduction over the codebook rows): "
                     + ", ".join(op.describe() for op in lookups),
            "gmacs_per_s": report.per_s(sum(op.macs for op in lookups))})
    # the rest of the unmatched ops stays unexplained (and is listed)


def read_artifact(path, manifest: dict | None = None) -> ArtifactGraph:
    """The MAC ops (and the other ops) of one artifact, read from the file alone."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such file")
    backend = backend_name_for_suffix(path)
    if backend is None:
        raise ArtifactError(f"{path}: unknown artifact type {path.suffix!r} (expected .pte, .tflite, .onnx or "
                            ".mlpackage)")
    if (backend == "coreml") != path.is_dir():
        raise ArtifactError(f"{path}: a {path.suffix} must be a {'folder' if backend == 'coreml' else 'file'}")
    quiet_imports()
    try:
        reader = get_backend(backend)
    except ExportError as e:  # its toolchain is not installed here
        raise ArtifactError(f"{path}: {e}") from None
    return reader.read_macs(path, manifest)


def analyse_artifact(path) -> ArtifactReport:
    """Count one artifact and check it against the reference and the budget."""

    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such file")
    manifest, mpath, notes = _load_manifest(path)
    graph = read_artifact(path, manifest)
    if not graph.mac_ops:
        raise ArtifactError(f"{path}: no conv/linear/matmul op found (not a decoder program?)")

    problems: list[str] = []
    # chunk size from the program itself, checked against the manifest
    K = graph.codes_shape[-1] if graph.codes_shape and len(graph.codes_shape) == 3 else None
    C = graph.codes_shape[0] if graph.codes_shape and len(graph.codes_shape) == 3 else None
    if manifest and manifest.get("channels"):
        mc = int(manifest["channels"])
        if C is not None and C != mc:
            problems.append(f"the program's codes input {list(graph.codes_shape)} decodes {C} channel(s), the "
                            f"manifest says channels={mc}")
        C = C if C is not None else mc
    C = C or 1
    samples = prod(graph.audio_shape) // C if graph.audio_shape else None
    sr = int((manifest or {}).get("sample_rate") or 44100)
    src = []
    if manifest:
        mk, ms = manifest.get("chunk_frames"), manifest.get("samples_per_chunk") or (
            manifest.get("chunk_frames", 0) * manifest.get("hop", 0))
        if K is not None and mk is not None and K != mk:
            problems.append(f"the program's codes input {list(graph.codes_shape)} has K={K}, the manifest says "
                            f"chunk_frames={mk}")
        if samples is not None and ms and samples != ms:
            problems.append(f"the program's audio output {list(graph.audio_shape)} has {samples} samples, the "
                            f"manifest says {ms} per chunk")
        K = K if K is not None else mk
        samples = samples if samples is not None else ms
        src.append(f"K from the codes input {list(graph.codes_shape)}" if graph.codes_shape else "K from the manifest")
        src.append(f"samples from the audio output {list(graph.audio_shape)}" + (f" over {C} channels" if C > 1 else "")
                   if graph.audio_shape else "samples from the manifest")
        src.append(f"checked against {mpath.name}")
    else:
        src.append("K and samples from the program's codes input and audio output; no manifest: "
                   "sample rate assumed 44100 Hz")
    if not K or not samples:
        raise ArtifactError(f"{path}: cannot tell the chunk size (no 'codes' input / 'audio' output and no manifest)")
    report = ArtifactReport(path, graph, manifest, mpath, int(K), int(samples), sr, "; ".join(src), int(C),
                            problems=problems, notes=notes)

    if graph.uncounted:
        c = Counter(graph.uncounted)
        problems.append("ops that may do MACs and have no rule here (not counted): "
                        + ", ".join(f"{k}×{v}" for k, v in c.items()))
    if manifest is None:
        problems.append("no manifest beside the artifact: its config is unknown, so the fvcore reference "
                        "cannot be computed")
    else:
        try:
            cfg = _config_from_manifest(manifest)
        except (KeyError, ValueError, TypeError) as e:
            raise ArtifactError(f"{mpath}: cannot build the config it names ({e})") from None
        report.reference = reference(cfg, report.chunk_frames, report.channels)
        outside = report.reference.streaming_macs_per_chunk - sum(c.macs for c in report.reference.calls)
        if outside:
            report.notes.append(f"fvcore counts {outside:,} MACs per chunk of the streaming decoder outside its "
                                "conv/linear modules; they have no call to match")
        if report.reference.samples_per_chunk != report.samples_per_chunk:
            problems.append(f"config {cfg.name} at K={report.chunk_frames} makes {report.reference.samples_per_chunk} "
                            f"samples per chunk, the artifact {report.samples_per_chunk}")
        _match(report)
        _explain(report)
        rel = report.relative_difference
        if not report.agrees:
            if report.agrees_after_explanation and report.explained:
                report.notes.append(f"{100 * rel:+.2f} % vs the reference, within {100 * AGREEMENT_TOLERANCE:g} % "
                                    "once the structural causes listed are taken out")
            else:
                problems.append(f"{report.gmacs_per_s:.4f} GMAC/s is {100 * rel:+.2f} % from the fvcore reference "
                                f"{report.reference.gmacs_per_s:.4f} (tolerance ±{100 * AGREEMENT_TOLERANCE:g} %), "
                                f"{100 * report.unexplained_relative_difference:+.2f} % without a structural "
                                "explanation")
    if report.gmacs_per_s > budget.BUDGET_HARD_GMACS:
        problems.append(f"{report.gmacs_per_s:.3f} GMAC/s is over the {budget.BUDGET_HARD_GMACS:g} GMAC/s hard bound")
    return report


# ----------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------
def to_json(r: ArtifactReport) -> dict:

    ref = r.reference
    d = {
        "artifact": str(r.path),
        "format": r.graph.backend,
        "read_from": r.graph.description,
        "manifest": str(r.manifest_path) if r.manifest_path else None,
        "precision": (r.manifest or {}).get("precision"),
        "config": ref.config if ref else (r.manifest or {}).get("config"),
        "chunk_frames": r.chunk_frames,
        "channels": r.channels,
        "samples_per_chunk": r.samples_per_chunk,
        "hop": r.samples_per_chunk // r.chunk_frames,
        "sample_rate": r.sample_rate,
        "shape_source": r.shape_source,
        "macs_per_chunk": r.macs_per_chunk,  # one call: every channel
        "gmacs_per_s": r.gmacs_per_s,  # per second of audio per channel
        "int8_mac_share": r.int8_share,
        "by_op": r.by_op(),
        "by_layer_gmacs_per_s": {k: r.per_s(v) for k, v in r.by_layer().items()},
        "other_ops": dict(sorted(r.graph.other_ops.items())),
        "uncounted_ops": dict(Counter(r.graph.uncounted)),
        "ops": [op.to_dict() for op in r.graph.mac_ops],
        "reference": None if ref is None else {
            "method": "fvcore (profiling.macs.count_macs) on the offline decoder of the manifest's config, "
                      f"{round(ref.offline_seconds * ref.sample_rate / (r.samples_per_chunk // r.chunk_frames))} "
                      "frames (one second), weight norm folded; LSTM handle; no biases or elementwise ops",
            "gmacs_per_s": ref.gmacs_per_s,
            "streaming_decoder_gmacs_per_s": ref.streaming_gmacs_per_s,
            "streaming_decoder_macs_per_chunk": ref.streaming_macs_per_chunk,
            "offline_layers_gmacs_per_s": {k: v / ref.offline_seconds / 1e9 for k, v in ref.offline_layers.items()},
        },
        "relative_difference": r.relative_difference,
        "agrees_within_2pct": r.agrees,
        "structural_differences": r.explained,
        "unexplained_relative_difference": r.unexplained_relative_difference,
        "matching": None if ref is None else {
            "artifact_mac_ops": len(r.graph.mac_ops),
            "reference_calls": len(ref.calls),
            "matched": len(r.graph.mac_ops) - len(r.unmatched_artifact),
            "unmatched_artifact_ops": [op.to_dict() for op in r.unmatched_artifact],
            "unmatched_reference_calls": [vars(c) for c in r.unmatched_reference],
        },
        "budget_gmacs_per_s": budget.BUDGET_TARGET_GMACS,
        "hard_budget_gmacs_per_s": budget.BUDGET_HARD_GMACS,
        "within_hard_bound": r.gmacs_per_s <= budget.BUDGET_HARD_GMACS,
        "vs_target": r.gmacs_per_s / budget.BUDGET_TARGET_GMACS - 1,
        "counted": "conv (incl. depthwise/transposed), fully connected/linear, matmul; not biases or elementwise ops",
        "notes": r.notes,
        "problems": r.problems,
        "passed": r.passed,
    }
    return d


def format_report(r: ArtifactReport) -> str:

    ref = r.reference
    prec = (r.manifest or {}).get("precision")
    lines = [f"{r.path}",
             f"  {r.graph.description}" + (f"; {prec}" if prec else "") + (f"; config {ref.config}" if ref else ""),
             f"  chunk: {r.chunk_frames} frames = {r.samples_per_chunk} samples at {r.sample_rate} Hz "
             f"({r.chunks_per_s:.3f} chunks/s), {r.channels} channel(s) per call; {r.shape_source}"
             + ("; GMAC/s below are per second of audio per channel (MACs/chunk: one call, both channels)"
                if r.channels > 1 else ""),
             f"  {'op':<34s} {'kind':<16s} {'count':>5s} {'MACs/chunk':>14s} {'GMAC/s':>8s} {'share':>7s} {'int8':>6s}"]
    for name, e in r.by_op().items():
        lines.append(f"  {name:<34s} {e['kind']:<16s} {e['count']:5d} {e['macs_per_chunk']:14,d} "
                     f"{e['gmacs_per_s']:8.4f} {100 * e['share']:6.1f}% "
                     f"{100 * e['int8_macs_per_chunk'] / e['macs_per_chunk']:5.1f}%")
    lines.append(f"  {'total':<34s} {'':<16s} {len(r.graph.mac_ops):5d} {r.macs_per_chunk:14,d} "
                 f"{r.gmacs_per_s:8.4f} {'':>7s} {100 * r.int8_share:5.1f}%")
    if r.graph.other_ops:
        lines.append("  other ops (no MACs): " + ", ".join(f"{k}×{v}" for k, v in r.graph.other_ops.most_common()))
    if ref is not None:
        matched = len(r.graph.mac_ops) - len(r.unmatched_artifact)
        lines.append(f"  reference (fvcore, offline decoder, profiling.macs): {ref.gmacs_per_s:.4f} GMAC/s; streaming "
                     f"decoder (fvcore, K={r.chunk_frames}): {ref.streaming_gmacs_per_s:.4f} GMAC/s")
        lines.append(f"  artifact vs reference: {100 * r.relative_difference:+.3f} % "
                     f"({r.gmacs_per_s - ref.gmacs_per_s:+.5f} GMAC/s); {matched} of {len(r.graph.mac_ops)} MAC ops "
                     f"matched one-to-one to the streaming decoder's {len(ref.calls)} conv/linear calls")
        for e in r.explained:
            lines.append(f"    structural: {e['cause']}: {e['gmacs_per_s']:+.5f} GMAC/s")
        for op in r.unmatched_artifact:
            lines.append(f"    in the artifact only: {op.describe()} [{op.where}] = {r.per_s(op.macs):.5f} GMAC/s")
        for c in r.unmatched_reference:
            lines.append(f"    in the reference only: {c.layer} {c.kind} {c.in_channels}→{c.out_channels} ×{c.taps} "
                         f"({c.macs:,} MACs) = {r.per_s(c.macs):.5f} GMAC/s")
    g = r.gmacs_per_s
    lines.append(f"  budget: {g:.3f} GMAC/s {'WITHIN' if g <= budget.BUDGET_HARD_GMACS else 'OVER'} the "
                 f"{budget.BUDGET_HARD_GMACS:g} GMAC/s hard bound; {100 * (g / budget.BUDGET_TARGET_GMACS - 1):+.1f} % vs the "
                 f"{budget.BUDGET_TARGET_GMACS} target")
    for n in r.notes:
        lines.append(f"  note: {n}")
    lines.append("  PASS" if r.passed else "  FAIL: " + "; ".join(r.problems))
    return "\n".join(lines)


def main(paths: list[str], as_json: bool = False) -> int:
    """The ``--artifact`` mode of ``python -m profiling.macs``: 0 all pass, 1 a check failed,
    2 a user error (missing file, unknown type, unreadable artifact)."""
    for p in paths:  # cheap checks first: no half-finished output for a typo
        path = Path(p)
        if not path.exists():
            print(f"error: {p}: no such file", file=sys.stderr)
            return 2
        if backend_name_for_suffix(path) is None:
            print(f"error: {p}: unknown artifact type {path.suffix!r} (expected .pte, .tflite, .onnx or "
                  ".mlpackage)", file=sys.stderr)
            return 2
    reports = []
    for p in paths:
        try:
            reports.append(analyse_artifact(p))
        except ArtifactError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if as_json:
        print(json.dumps({"artifacts": [to_json(r) for r in reports], "budget_gmacs_per_s": budget.BUDGET_TARGET_GMACS,
                          "hard_budget_gmacs_per_s": budget.BUDGET_HARD_GMACS,
                          "passed": all(r.passed for r in reports)}, indent=2))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0 if all(r.passed for r in reports) else 1
