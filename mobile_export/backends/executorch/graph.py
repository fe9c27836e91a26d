"""ExecuTorch's graph passes: ``torch.export`` of the streaming decoder with XNNPACK's quirks fixed,
then lowering to the XNNPACK delegate.

Quirks handled here, never in the model (see design/EXPORT-NOTES.md):

* ``select``/``unsqueeze`` on a size-1 dimension become ``reshape`` — the partitioner
  rejects the former (select_copy; unsqueeze only on the trailing dim) and each one
  splits the delegate;
* a conv/linear bias that another op also reads gets its own copy (shared bias
  tensors segfault the fp32 runtime and fail int8 init);
* the codebook table is stored in fp16 in int8 builds (``_half_precision_tables``);
* ELU is exported as ``aten.elu`` (``StreamingDecoder.use_native_elu``: one XNNPACK op
  instead of five, measured ~10 % less time per chunk) and ``EluConfig`` joins the
  partitioner configs (it is not in 1.5.1's default list).
"""
from __future__ import annotations

import functools
import logging
import warnings

import torch

from .delegation import mac_shares


def quiet() -> None:
    """Silence import-time noise of the toolchain (CUDA .so probes, deprecations), not errors."""
    logging.getLogger("torchao").setLevel(logging.ERROR)
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")


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
