"""``torch.onnx.export`` of the streaming decoder: explicit state in and out, our tensor names.

The TorchScript-based exporter (``dynamo=False``) is used: it needs no onnxscript, and it
names every node after the module that made it (``/res_blocks.2.0/conv_a/conv/Conv``),
which is how ``quantizer`` keeps whole modules in float.  ELU is exported as ONNX ``Elu``
(``StreamingDecoder.use_native_elu``): one op instead of five, the same function.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from tqcodec.streaming import StreamingDecoder

OPSET = 17


def io_names(decoder: StreamingDecoder) -> tuple[list[str], list[str]]:
    """(input names, output names) in call order: the manifest's ``inputs``/``outputs`` names."""
    state = [s.name for s in decoder.state_specs()]
    return ["codes", *state], ["audio", *(f"next_{n}" for n in state)]


def export_onnx(decoder: StreamingDecoder, path: Path) -> None:
    """Write the float decoder step (codes, *state) → (audio, *state) as an ONNX model at ``path``."""
    inputs, outputs = io_names(decoder)
    example = (torch.zeros(decoder.input_spec().shape, dtype=torch.int32), *decoder.init_state())
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(decoder.eval(), example, str(path), input_names=inputs, output_names=outputs,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    fold_weight_identities(path)


def fold_weight_identities(path: Path) -> int:
    """Remove the ``Identity`` nodes the exporter puts on a shared weight (the LSTM's recurrent matrix, one
    per unrolled step): each ``MatMul`` then reads the initializer itself.  Without this, ONNX Runtime's
    quantizer sees steps 1..K-1's weight as an activation (QDQ: a weight DequantizeLinear → QuantizeLinear
    → DequantizeLinear run on every call, unfused; QOperator: those MatMuls left float).  Returns how many."""
    import onnx

    model = onnx.load(str(path))
    g = model.graph
    inits = {i.name for i in g.initializer}
    outputs = {o.name for o in g.output}
    alias = {n.output[0]: n.input[0] for n in g.node
             if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in outputs}
    if not alias:
        return 0
    keep = [n for n in g.node if not (n.op_type == "Identity" and n.output[0] in alias)]
    for n in keep:
        for i, name in enumerate(n.input):
            if name in alias:
                n.input[i] = alias[name]
    del g.node[:]
    g.node.extend(keep)
    kept_vi = [v for v in g.value_info if v.name not in alias]
    del g.value_info[:]
    g.value_info.extend(kept_vi)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(alias)


def node_module_path(node_name: str) -> str:
    """``/res_blocks.2.0/conv_a/conv/Conv`` → ``res_blocks.2.0.conv_a.conv`` (the decoder's module path)."""
    scopes = node_name.strip("/").split("/")[:-1]
    return ".".join(scopes)
