"""A NumPy interpreter for the MIL ops our Core ML decoder uses, so Linux can verify a ``.mlpackage``.

Core ML itself runs only on Apple platforms.  This reads the *saved* package back
(``MLModel(path, skip_model_load=True).get_spec()`` → coremltools' milproto loader, which
rebuilds the program and reads the weight blobs) and evaluates its ``main`` function op
by op with our own NumPy kernels, following the MIL op definitions (coremltools
``converters/mil/mil/ops/defs``).  What it checks is therefore what was written to disk:
the converter's graph, the casts it inserted, and every quantised weight and activation.

Precision is emulated by storage: every op computes in float32 (float64 never) and its
result is rounded to the dtype the program declares for that value, so an fp16 program
carries fp16 rounding through every intermediate and every state tensor.  Accumulation
inside conv/linear/matmul is float32; a device may accumulate differently (the macOS
test runs Core ML itself).

Only the ops in ``KERNELS`` are known (each is tested against torch in
tests/test_coreml.py).  Anything else raises ``UnsupportedOpError`` when the program is
loaded, and an op form a kernel does not implement (a 2-D conv, say) raises when it
runs — an op is never skipped.
"""
from __future__ import annotations

import contextlib
import os
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np


def single_threaded_blas():
    """Limit NumPy's BLAS to one thread while interpreting.

    The interpreter's matmuls are small (one chunk); a multi-threaded OpenBLAS spends more
    time spinning than computing, 20x slower on a busy 2-core host.  Needs threadpoolctl;
    without it BLAS keeps its default threads (slower, same results).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class UnsupportedOpError(Exception):
    """The program uses a MIL op (or an op variant) this interpreter does not know: a
    verification failure of the artifact (never a skip), not a gap in this module."""


_DTYPES = {
    "fp16": np.float16, "fp32": np.float32, "fp64": np.float64, "int8": np.int8, "uint8": np.uint8,
    "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32, "int64": np.int64,
    "bool": np.bool_,
}


def _f32(x: np.ndarray) -> np.ndarray:
    """Float inputs are computed in float32 (fp16 values are exact in float32)."""
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _is_fp16(v) -> bool:
    return isinstance(v, np.ndarray) and v.dtype == np.float16


def _per_axis(v, rank: int, axis: int | None) -> np.ndarray:
    """A scalar or a vector along ``axis``, shaped to broadcast against a rank-``rank`` tensor."""
    v = np.asarray(v)
    if v.ndim == 0 or axis is None:
        return v
    if v.ndim == rank:
        return v
    shape = [1] * rank
    shape[axis % rank] = v.size
    return v.reshape(shape)


# ---------------------------------------------------------------------------------------
# Kernels.  Each takes the op's inputs by MIL parameter name: runtime tensors as arrays,
# const parameters as Python/NumPy values.  They return one array (or a tuple).
# ---------------------------------------------------------------------------------------

def _binary(fn):
    return lambda x, y: fn(_f32(x), _f32(y))


def _conv(x, weight, bias=None, strides=None, pad_type="valid", pad=None, dilations=None, groups=1):
    x, w = _f32(x), _f32(weight)
    if x.ndim != 3:
        raise UnsupportedOpError(f"conv over {x.ndim - 2} spatial dims (only 1-D is implemented)")
    stride = int(np.asarray(strides).reshape(-1)[0]) if strides is not None else 1
    dil = int(np.asarray(dilations).reshape(-1)[0]) if dilations is not None else 1
    k = w.shape[-1]
    span = (k - 1) * dil + 1
    if pad_type == "valid":
        left = right = 0
    elif pad_type == "custom":
        left, right = (int(p) for p in np.asarray(pad).reshape(-1)[:2])
    elif pad_type in ("same", "same_lower"):
        out_len = -(-x.shape[-1] // stride)
        total = max((out_len - 1) * stride + span - x.shape[-1], 0)
        small, big = total // 2, total - total // 2
        left, right = (small, big) if pad_type == "same" else (big, small)
    else:
        raise UnsupportedOpError(f"conv pad_type {pad_type!r}")
    if left or right:
        x = np.pad(x, ((0, 0), (0, 0), (left, right)))
    n, c_in, _ = x.shape
    win = np.lib.stride_tricks.sliding_window_view(x, span, axis=2)[..., ::dil][:, :, ::stride]  # [N, C, T, K]
    t = win.shape[2]
    groups = int(groups)
    cg, og = c_in // groups, w.shape[0] // groups
    outs = []
    for g in range(groups):
        cols = win[:, g * cg:(g + 1) * cg].transpose(0, 1, 3, 2).reshape(n, cg * k, t)
        outs.append(w[g * og:(g + 1) * og].reshape(og, cg * k) @ cols)
    y = outs[0] if groups == 1 else np.concatenate(outs, axis=1)
    if bias is not None:
        y = y + _f32(bias)[None, :, None]
    return y


def _linear(x, weight, bias=None):
    y = _f32(x) @ _f32(weight).T
    return y + _f32(bias) if bias is not None else y


def _matmul(x, y, transpose_x=False, transpose_y=False):
    x, y = _f32(x), _f32(y)
    if transpose_x:
        x = np.swapaxes(x, -1, -2)
    if transpose_y:
        y = np.swapaxes(y, -1, -2)
    return np.matmul(x, y)


def _concat(values, axis, interleave=False):
    values = [np.asarray(v) for v in values]
    axis = int(axis)
    if not interleave:
        return np.concatenate(values, axis=axis)
    axis %= values[0].ndim
    stacked = np.stack(values, axis=axis + 1)
    shape = list(values[0].shape)
    shape[axis] *= len(values)
    return stacked.reshape(shape)


def _slice_by_index(x, begin, end, stride=None, begin_mask=None, end_mask=None, squeeze_mask=None):
    x = np.asarray(x)
    r = x.ndim
    begin, end = np.asarray(begin).reshape(-1), np.asarray(end).reshape(-1)
    stride = np.ones(r, int) if stride is None else np.asarray(stride).reshape(-1)
    bm = np.zeros(r, bool) if begin_mask is None else np.asarray(begin_mask).reshape(-1)
    em = np.zeros(r, bool) if end_mask is None else np.asarray(end_mask).reshape(-1)
    sm = np.zeros(r, bool) if squeeze_mask is None else np.asarray(squeeze_mask).reshape(-1)
    index = []
    for i in range(r):
        if sm[i]:
            index.append(int(begin[i]))
            continue
        s = int(stride[i])
        b = None if bm[i] else int(begin[i])
        e = None if em[i] else int(end[i])
        index.append(slice(b, e, s))
    return x[tuple(index)]


def _reshape(x, shape):
    """iOS17 reshape: -1 is inferred; a 0 copies the input dim aligned from the right (else 1)."""
    x = np.asarray(x)
    shape = [int(s) for s in np.asarray(shape).reshape(-1)]
    out = []
    for i, s in enumerate(shape):
        if s == 0:
            j = x.ndim - (len(shape) - i)
            out.append(x.shape[j] if 0 <= j < x.ndim else 1)
        else:
            out.append(s)
    return x.reshape(out)


def _transpose(x, perm):
    return np.transpose(np.asarray(x), [int(p) for p in np.asarray(perm).reshape(-1)])


def _expand_dims(x, axes):
    x = np.asarray(x)
    rank = x.ndim + np.asarray(axes).size
    for a in sorted(int(a) % rank for a in np.asarray(axes).reshape(-1)):
        x = np.expand_dims(x, a)
    return x


def _squeeze(x, axes=None):
    x = np.asarray(x)
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(int(a) % x.ndim for a in np.asarray(axes).reshape(-1)))


def _gather(x, indices, axis=0, batch_dims=0, validate_indices=False):
    x, idx = np.asarray(x), np.asarray(indices).astype(np.int64)
    if int(batch_dims) != 0:
        raise UnsupportedOpError("gather with batch_dims != 0")
    axis = int(axis) % x.ndim
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[axis]):
        # iOS17 gather: negative indices are out of bounds (the converter adds select(i >= 0, i, i + n))
        raise IndexError(f"gather index out of range [0, {x.shape[axis]}): {idx.min()}..{idx.max()}")
    return np.take(x, idx, axis=axis)


def _reduce_sum(x, axes=None, keep_dims=False):
    x = _f32(x)
    ax = None if axes is None else tuple(int(a) for a in np.asarray(axes).reshape(-1))
    return np.sum(x, axis=ax, keepdims=bool(keep_dims))


def _cast(x, dtype):
    if dtype not in _DTYPES:
        raise UnsupportedOpError(f"cast to {dtype!r}")
    return np.asarray(x).astype(_DTYPES[dtype])


def _clip(x, alpha, beta):
    return np.clip(_f32(x), np.float32(alpha), np.float32(beta))


def _elu(x, alpha=1.0):
    x = _f32(x)
    return np.where(x > 0, x, np.float32(alpha) * np.expm1(np.minimum(x, 0)))


def _select(cond, a, b):
    return np.where(np.asarray(cond), np.asarray(a), np.asarray(b))


def _quantize(input, scale, output_dtype, zero_point=None, axis=None):
    x = _f32(input)
    dt = _DTYPES[output_dtype]
    s = _per_axis(_f32(scale), x.ndim, axis)
    zp = 0 if zero_point is None else _per_axis(np.asarray(zero_point).astype(np.float32), x.ndim, axis)
    info = np.iinfo(dt)
    return np.clip(np.rint(x / s) + zp, info.min, info.max).astype(dt)


def _dequantize(input, scale, zero_point=None, axis=None):
    q = np.asarray(input).astype(np.float32)
    s = _per_axis(_f32(scale), q.ndim, axis)
    zp = 0 if zero_point is None else _per_axis(np.asarray(zero_point).astype(np.float32), q.ndim, axis)
    return (q - zp) * s


def _constexpr_affine_dequantize(quantized_data, zero_point, scale, axis):
    return _dequantize(quantized_data, scale, zero_point, int(axis))


def _constexpr_blockwise_shift_scale(data, scale, offset=None):
    d = np.asarray(data).astype(np.float32)
    s = _f32(scale)
    if s.ndim != d.ndim:
        raise ValueError("constexpr_blockwise_shift_scale: scale rank must equal data rank")

    def blocks(v):
        v = np.asarray(v).astype(np.float32)
        for axis, (n, m) in enumerate(zip(d.shape, v.shape)):
            if n % m:
                raise ValueError(f"block size along axis {axis} is not an integer ({n}/{m})")
            v = np.repeat(v, n // m, axis=axis)
        return v

    return blocks(s) * (d - (0 if offset is None else blocks(offset)))


KERNELS: dict[str, Callable] = {
    "add": _binary(np.add),
    "sub": _binary(np.subtract),
    "mul": _binary(np.multiply),
    "real_div": _binary(np.divide),
    "maximum": _binary(np.maximum),
    "minimum": _binary(np.minimum),
    "greater_equal": lambda x, y: np.greater_equal(_f32(x), _f32(y)),
    "select": _select,
    "relu": lambda x: np.maximum(_f32(x), 0),
    "exp": lambda x: np.exp(_f32(x)),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-_f32(x))),
    "tanh": lambda x: np.tanh(_f32(x)),
    "clip": _clip,
    "elu": _elu,
    "conv": _conv,
    "linear": _linear,
    "matmul": _matmul,
    "concat": _concat,
    "slice_by_index": _slice_by_index,
    "reshape": _reshape,
    "transpose": _transpose,
    "expand_dims": _expand_dims,
    "squeeze": _squeeze,
    "gather": _gather,
    "reduce_sum": _reduce_sum,
    "cast": _cast,
    "quantize": _quantize,
    "dequantize": _dequantize,
    "constexpr_affine_dequantize": _constexpr_affine_dequantize,
    "constexpr_blockwise_shift_scale": _constexpr_blockwise_shift_scale,
}
CONSTEXPR = {"constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"}


def _np_dtype(var):
    from coremltools.converters.mil.mil import types

    return np.dtype(types.nptype_from_builtin(var.dtype))


class MILProgram:
    """The ``main`` function of an ML program, compiled into a list of NumPy steps.

    ``run({name: array}) -> {name: array}`` for the function's declared inputs/outputs.
    """

    def __init__(self, program, function: str = "main"):
        func = program.functions[function]
        self.input_names = list(func.inputs)
        self.input_specs = {n: (tuple(int(d) for d in v.shape), _np_dtype(v)) for n, v in func.inputs.items()}
        self.output_names = [v.name for v in func.outputs]
        self.op_counts: Counter = Counter()
        self.consts: dict[str, object] = {}
        self.folded = 0  # ops with only constant inputs, evaluated once at load time
        self.steps: list[tuple] = []
        for op in func.operations:
            self._compile(op)

    @classmethod
    def from_package(cls, path, function: str = "main") -> "MILProgram":
        """Read a saved ``.mlpackage`` (no Core ML runtime needed)."""
        import coremltools as ct
        from coremltools.converters.mil.frontend.milproto.load import load

        model = ct.models.MLModel(str(path), skip_model_load=True)
        spec = model.get_spec()
        weights = os.path.join(str(Path(model.package_path)), "Data", "com.apple.CoreML", "weights")
        return cls(load(spec, spec.specificationVersion, file_weights_dir=weights), function)

    def _compile(self, op) -> None:
        kind = op.op_type
        self.op_counts[kind] += 1
        if getattr(op, "blocks", None):
            raise UnsupportedOpError(f"{kind} ({op.name}): ops with nested blocks (control flow)")
        if kind == "const":
            self.consts[op.outputs[0].name] = op.outputs[0].val
            return
        if kind not in KERNELS:
            raise UnsupportedOpError(f"MIL op {kind!r} ({op.name}) is unknown to the NumPy interpreter")
        static, dynamic = {}, {}
        for pname, arg in op.inputs.items():
            if isinstance(arg, (list, tuple)):
                names = [v.name for v in arg]
                if all(n in self.consts for n in names):
                    static[pname] = [self.consts[n] for n in names]
                else:
                    dynamic[pname] = names
            elif arg.name in self.consts:
                static[pname] = _f32(self.consts[arg.name]) if _is_fp16(self.consts[arg.name]) \
                    else self.consts[arg.name]  # exact; converting fp16 weights once, not per call
            else:
                dynamic[pname] = arg.name
        out_vars = op.outputs
        out_types = [_np_dtype(v) for v in out_vars]
        fn = KERNELS[kind]
        if kind in CONSTEXPR and dynamic:
            raise ValueError(f"{kind} ({op.name}) has non-constant inputs {sorted(dynamic)}")
        if not dynamic:  # constexpr ops, and e.g. dequantize of an int8 weight: fold once at load time
            result = fn(**static)
            results = [result] if len(out_vars) == 1 else list(result)
            for v, value, dt in zip(out_vars, results, out_types):
                self.consts[v.name] = np.asarray(value).astype(dt)
            self.folded += 1
            return
        self.steps.append((fn, static, dynamic, [v.name for v in out_vars], out_types, kind, op.name))

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        env = dict(self.consts)
        for name in self.input_names:
            if name not in inputs:
                raise KeyError(f"missing input {name!r}")
            shape, dtype = self.input_specs[name]
            value = np.asarray(inputs[name])
            if tuple(value.shape) != shape:
                raise ValueError(f"input {name!r}: shape {tuple(value.shape)}, program expects {shape}")
            env[name] = value.astype(dtype, copy=False)
        for fn, static, dynamic, outs, out_types, kind, opname in self.steps:
            args = dict(static)
            for pname, ref in dynamic.items():
                args[pname] = [env[r] for r in ref] if isinstance(ref, list) else env[ref]
            try:
                result = fn(**args)
            except Exception as e:
                e.add_note(f"in MIL op {kind} ({opname})")
                raise
            if len(outs) == 1:
                env[outs[0]] = np.asarray(result).astype(out_types[0], copy=False)
            else:
                for name, value, dt in zip(outs, result, out_types):
                    env[name] = np.asarray(value).astype(dt, copy=False)
        return {name: env[name] for name in self.output_names}
