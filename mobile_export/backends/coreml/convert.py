"""Core ML conversion of the streaming decoder: int8 activations per layer, ML program, int8 weights.

What the precisions mean:

* ``fp16``: fp16 weights and fp16 compute (``compute_precision=FLOAT16``).
* ``int8``: int8 weights *and* int8 activations on every conv/linear outside
  ``keep_float``: each layer is quantised in PyTorch with coremltools'
  ``LinearQuantizer`` (symmetric per-channel weights, min/max-calibrated per-tensor
  activations), calibrated by streaming the real-music codes with state carried, then
  finalised, traced and converted — the ML program carries ``quantize``/``dequantize``
  around each layer and ``constexpr_affine_dequantize`` int8 weights.  Every remaining
  large float weight (the codebook table) then goes through
  ``ct.optimize.coreml.linear_quantize_weights`` (int8, symmetric, per-channel).
  Compute between the int8 layers is fp16.  ``--weights-only`` gives W8A16 instead.

Either way every input and output, state included, is float32 at the boundary (the
program casts to fp16 inside); the manifest says which tensors are int8 and the
verification measures fp16 state drift over the whole run.

Core ML quirks handled here, not in the model:

* ELU: the decoder writes it as ``relu(x) + exp(min(x, 0)) - 1`` (the form LiteRT's int8
  quantises well).  In fp16 the ``+ 1 - 1`` round trip throws away the low bits of every
  positive activation (ulp of 1.0 is 2⁻¹⁰): 52 dB against float for tq64.  The trace
  therefore sees ``F.elu`` — the same function — which becomes MIL's own ``elu`` op: 64 dB.
* ``LinearQuantizer`` needs an FX trace, which the decoder's ``*state`` signature does not
  allow, so each conv/linear is prepared on its own (that also keeps the elementwise
  LSTM/ELU arithmetic out of int8).
* the converter makes fp16 outputs by default on iOS 17, so outputs are declared float32.
"""
from __future__ import annotations

import contextlib
import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.ao.quantization import FakeQuantizeBase

from tqcodec.streaming import StreamingDecoder, in_modules

from ...atomic_folder import atomic_folder
from ...calibration import positional_step, stream_codes

PRECISIONS = ("int8", "fp16")
MIN_DEPLOYMENT = "iOS17"


def _parent(root: nn.Module, path: str) -> tuple[nn.Module, str]:
    *head, leaf = path.split(".")
    mod = root
    for part in head:
        mod = mod[int(part)] if part.isdigit() else getattr(mod, part)
    return mod, leaf


def quantizable_layers(decoder: nn.Module) -> list[str]:
    return [n for n, m in decoder.named_modules() if isinstance(m, (nn.Conv1d, nn.Linear))]


def quantize_activations(decoder: StreamingDecoder, music, keep_float=None,
                         progress: bool = True) -> tuple[nn.Module, list[str]]:
    """A copy of ``decoder`` whose conv/linear layers are W8A8 reference-quantised modules.

    Each layer gets its own ``LinearQuantizer`` (prepare → calibrate → finalize); the whole
    decoder streams the real-music codes chunk by chunk, state carried from zeros, so every
    observer sees what the phone will see.  Weight observers see the (constant) weights
    once; afterwards weight fake-quantisation is off during calibration, which is 10x
    faster (the recurrent matrices are called 16 times a chunk) and moves the activation
    ranges by the weight rounding only.  ``keep_float`` (None: ``decoder.output_stage()``)
    keeps layers out of int8 activations.  Returns the copy and the int8 layer names.
    """
    from coremltools.optimize.torch.quantization import (
        LinearQuantizer,
        LinearQuantizerConfig,
        ModuleLinearQuantizerConfig,
    )

    cfg = LinearQuantizerConfig(global_config=ModuleLinearQuantizerConfig(
        quantization_scheme="symmetric", activation_observer="min_max", weight_per_channel=True))
    keep_float = decoder.resolve_keep_float(keep_float)
    q = copy.deepcopy(decoder).eval()
    names = [n for n in quantizable_layers(q) if not in_modules(n, keep_float)]
    quantizers = {}
    for name in names:
        parent, leaf = _parent(q, name)
        layer = getattr(parent, leaf)
        example = torch.zeros(1, layer.in_channels, 8) if isinstance(layer, nn.Conv1d) \
            else torch.zeros(1, layer.in_features)
        quantizers[name] = LinearQuantizer(layer, cfg)
        setattr(parent, leaf, quantizers[name].prepare(example_inputs=(example,), inplace=False))
    K = decoder.chunk_frames
    with torch.no_grad():  # weights are constant: observe them once, then stop re-quantising them per call
        q(music.codes[:decoder.channels, :, :K].to(torch.int32), *decoder.init_state())
    for fq in q.modules():
        if isinstance(fq, FakeQuantizeBase) and fq.qscheme in (torch.per_channel_symmetric, torch.per_channel_affine):
            fq.disable_observer()
            fq.disable_fake_quant()
    for _ in stream_codes(positional_step(q), decoder.init_state, music.codes, K, None,
                          "calibrate" if progress else None, channels=decoder.channels):
        pass
    for name in names:
        parent, leaf = _parent(q, name)
        setattr(parent, leaf, quantizers[name].finalize(getattr(parent, leaf), inplace=False))
    return q, names


@contextlib.contextmanager
def native_elu(decoder: StreamingDecoder):
    """Trace the decoder's ELUs as ``F.elu`` (MIL ``elu``): identical function, exact in fp16."""
    previous = decoder.native_elu
    decoder.use_native_elu(True)
    try:
        yield
    finally:
        decoder.use_native_elu(previous)


def convert(module: nn.Module, decoder: StreamingDecoder, compute: str = "fp16"):
    """jit.trace → ct.convert (mlprogram, iOS 17, float32 I/O with our names).

    ``compute`` is the program's compute precision: "fp16" for every artifact; "fp32" only
    to check the interpreter against PyTorch exactly.
    """
    import coremltools as ct

    example = (torch.zeros(decoder.input_spec().shape, dtype=torch.int32), *decoder.init_state())
    with torch.no_grad(), warnings.catch_warnings(), native_elu(module):
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), example)
    specs = decoder.state_specs()
    inputs = [ct.TensorType(name="codes", shape=decoder.input_spec().shape, dtype=np.int32)] + \
        [ct.TensorType(name=s.name, shape=s.shape, dtype=np.float32) for s in specs]
    outputs = [ct.TensorType(name="audio", dtype=np.float32)] + \
        [ct.TensorType(name=f"next_{s.name}", dtype=np.float32) for s in specs]
    return ct.convert(traced, inputs=inputs, outputs=outputs, convert_to="mlprogram",
                      minimum_deployment_target=getattr(ct.target, MIN_DEPLOYMENT),
                      compute_precision=ct.precision.FLOAT16 if compute == "fp16" else ct.precision.FLOAT32,
                      skip_model_load=True)


def quantize_weights(mlmodel):
    """int8 (symmetric, per-channel) for every float const of more than 2048 elements still in fp16."""
    from coremltools.optimize.coreml import OpLinearQuantizerConfig, OptimizationConfig, linear_quantize_weights

    cfg = OptimizationConfig(global_config=OpLinearQuantizerConfig(
        mode="linear_symmetric", dtype="int8", granularity="per_channel", weight_threshold=2048))
    return linear_quantize_weights(mlmodel, cfg)


def save_atomically(mlmodel, path: Path) -> None:
    """Save the package (a folder) so that a reader sees the old package or the new one, never half."""
    with atomic_folder(path) as staged:
        mlmodel.save(str(staged))
