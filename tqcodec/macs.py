"""Multiply-accumulates of a module, counted with fvcore: a model fact every layer above uses.

fvcore traces the model with TorchScript and counts ``aten::conv*`` (transposed convs
included, counted over input positions, which is exact) and ``aten::linear``/``matmul``;
it has no rule for ``aten::lstm``, so ``lstm_macs`` supplies one.  Elementwise ops,
activations and biases are not counted.  One MAC = one fvcore "flop".

Exporters (``mobile_export``) and profilers (``profiling``) both count here, so the
figure in a manifest and the one in a report come from one rule.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn


def lstm_macs(inputs, outputs) -> int:
    """fvcore handle for ``aten::lstm`` (no projection).

    Per time step, batch item and direction a layer does 4·H·(I + H) MACs (input and
    recurrent gate projections); the first layer sees I = input width, the others the
    previous layer's output, I = D·H for D directions (2 when bidirectional).
    """
    from fvcore.nn.jit_handles import get_shape

    x_shape = get_shape(inputs[0])  # [T, B, I] (batch_first=False)
    y_shape = get_shape(outputs[0])  # [T, B, D·H]
    num_layers = inputs[4].toIValue()
    directions = 2 if inputs[7].toIValue() else 1
    steps, batch, in_dim = x_shape
    hidden = y_shape[-1] // directions
    per_direction = 4 * hidden * (in_dim + hidden) + (num_layers - 1) * 4 * hidden * (directions * hidden + hidden)
    return steps * batch * directions * per_direction


def count_macs(module: nn.Module, inputs: tuple) -> tuple[int, dict[str, int]]:
    """Total MACs and MACs per submodule name for one call of ``module(*inputs)``."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(module, inputs)
    analysis.set_op_handle("aten::lstm", lstm_macs)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = analysis.total()
        by_module = analysis.by_module()
    return int(total), {k: int(v) for k, v in by_module.items()}


def chunk_macs(decoder) -> tuple[int, dict[str, int]]:
    """MACs of one chunk of a ``StreamingDecoder`` (zero codes, zero state), total and per module."""
    return count_macs(decoder, (torch.zeros(decoder.input_spec().shape, dtype=torch.int32), *decoder.init_state()))


def gmacs_per_second(decoder, macs_per_chunk: int | None = None) -> float:
    """A ``StreamingDecoder``'s GMAC per second of audio per channel (one chunk's MACs × chunks per
    second, over its channels): the budget's unit, the same for a mono and a stereo decoder.
    ``macs_per_chunk``: a count the caller already has (default: ``chunk_macs``)."""
    total = chunk_macs(decoder)[0] if macs_per_chunk is None else macs_per_chunk
    return total * decoder.config.sample_rate / decoder.samples_per_chunk / decoder.channels / 1e9


def deployable_copy(model: nn.Module) -> nn.Module:
    """A copy with weight norm folded: what is counted is what ships."""
    from .modules.conv import remove_weight_norm

    # deepcopy of parametrised (weight-normed) modules is unreliable: rebuild and load.
    m = type(model)(model.config) if hasattr(model, "config") else copy.deepcopy(model)
    m.load_state_dict(model.state_dict())
    remove_weight_norm(m)
    return m.eval()
