"""The deployable streaming decoder: one definition that all three backends lower.

``StreamingDecoder.forward(codes, *state) -> (audio, *new_state)`` decodes a fixed chunk
of K frames.  Everything an exporter needs to see is explicit:

* codebook lookup: one gather from the stacked effective codebooks (SimVQ's C·W or
  DAC's out-projected codes), summed over stages;
* every causal convolution takes its left context as a state tensor and returns the
  new one (constant-index slices, so Core ML's converter accepts them);
* transposed convolutions (kernel 2s, stride s) are written in polyphase form — a
  kernel-2 convolution with s·C_out channels followed by a 1-D pixel shuffle — which is
  the same function, the same MACs, int8-quantisable on every backend, and whose state
  is just the previous input frame;
* the LSTM is gate matmuls with h and c as state; the input projection is batched over
  the chunk, only the recurrent part loops (unrolled: K is fixed at export);
* ELU is ``relu(x) + exp(min(x, 0)) - 1`` by default (identical, and it quantises well on
  LiteRT, where ``F.elu`` costs ~10 dB); ``use_native_elu()`` switches the same decoder to
  one ``aten.elu`` per activation, which XNNPACK runs as a single int8 op (ExecuTorch:
  ~10 % less time per chunk than the five-op form). Same function, same weights, same state.

**Channels.** ``channels`` (1 or 2) is the batch dimension of every tensor of the call: codes
``[C, n_q, K]`` (row 0 left, row 1 right), audio ``[C, 1, 64·K]``, every state tensor ``[C, …]``
(row c is channel c's own state; the channels never mix). A stereo step decodes both channels
in one call: the convolutions see a batch of two, and the LSTM's recurrent matmuls become
two-row matmuls that read each weight once for both channels (the recurrence is bound by
reading its weights, so the second channel is nearly free there). ``channel_layout()`` names
this layout for the manifest.

Zero state equals the offline decoder's causal zero padding, so decoding chunk by chunk
from ``init_state()`` equals ``TQCodec.decode`` (tests check this over minutes of audio).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .configs import CodecConfig
from .modules.seanet import SEANetResnetBlock


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


def in_modules(path: str, modules) -> bool:
    """Is module ``path`` one of ``modules`` or inside one (``res_blocks.2`` covers
    ``res_blocks.2.0.conv_b``)?  How every exporter matches ``keep_float`` entries."""
    return any(path == m or path.startswith(m + ".") for m in modules)


def traced_module_path(node) -> str:
    """Innermost module path a traced FX node came from, relative to the decoder ('' for its
    own ops).  Wrappers that hold the decoder as ``decoder`` (LiteRT's signature module,
    ``profiling.time_split``'s sections) see the same paths."""
    stack = node.meta.get("nn_module_stack") or {}
    path = list(stack.values())[-1][0] if stack else ""
    return "" if path == "decoder" else path.removeprefix("decoder.")


def elu(x: torch.Tensor, native: bool = False) -> torch.Tensor:
    """ELU(alpha=1): the decomposed form every backend quantises (no select on the output),
    or ``native`` ``F.elu`` for backends with an ELU kernel (XNNPACK)."""
    if native:
        return F.elu(x)
    return F.relu(x) + torch.exp(torch.clamp(x, max=0.0)) - 1.0


class StatefulConv1d(nn.Module):
    """Causal stride-1 conv whose left context is an explicit state [C, C_in, ctx]."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int, frames: int):
        super().__init__()
        c_out, c_in, k = weight.shape
        self.conv = nn.Conv1d(c_in, c_out, k, dilation=dilation, bias=bias is not None)
        self.conv.weight.data.copy_(weight)
        if bias is not None:
            self.conv.bias.data.copy_(bias)
        self.context = (k - 1) * dilation
        self.frames = frames  # input length per chunk (fixed at export)

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        full = torch.cat([state, x], dim=2)
        return self.conv(full), full[:, :, self.frames:]


class TapSumConv1d(nn.Module):
    """A causal stride-1 conv to ONE output channel (the decoder's last conv) in an exact form
    runtimes run fast: a pointwise conv to ``k`` channels, one per tap, then the taps summed at
    their shifts: ``y[t] = b + Σ_k z[k, t + k·d]`` with ``z = W_kᵀ·x``.

    The same function and the same MACs (over the ``k - 1`` context frames too: +0.6 % of this
    layer at K=16), with the same state as ``StatefulConv1d``.  Why: a convolution with one
    output channel is a matrix-vector product per sample that XNNPACK runs at ~2 GMAC/s; the
    pointwise form is a 7-column GEMM (ExecuTorch fp32, 2 × 54 channels × 1024 samples, A/B in one
    process: 0.44× the time of the plain conv)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int, frames: int):
        super().__init__()
        c_out, c_in, k = weight.shape
        if c_out != 1:
            raise ValueError(f"TapSumConv1d computes one output channel, got {c_out}")
        self.conv = nn.Conv1d(c_in, k, 1, bias=False)
        self.conv.weight.data.copy_(weight[0].t().unsqueeze(-1))
        self.register_buffer("bias", (bias if bias is not None else torch.zeros(1)).reshape(1, 1, 1).clone())
        self.taps, self.dilation = k, dilation
        self.context = (k - 1) * dilation
        self.frames = frames

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        full = torch.cat([state, x], dim=2)
        z = self.conv(full)  # [C, k, frames + context]
        t, d = self.frames, self.dilation
        y = z[:, 0:1, 0:t] + self.bias
        for j in range(1, self.taps):
            y = y + z[:, j:j + 1, j * d:j * d + t]
        return y, full[:, :, t:]


class PolyphaseConvTranspose1d(nn.Module):
    """Causal ConvTranspose1d(kernel 2s, stride s) as conv(kernel 2, s·C_out) + pixel shuffle.

    ``y[co, n·s + p] = Σ_ci W[ci, co, p]·x[ci, n] + W[ci, co, p + s]·x[ci, n - 1] + b[co]``;
    the state is the previous chunk's last input frame.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, frames: int,
                 channels: int = 1):
        super().__init__()
        c_in, c_out, k = weight.shape
        if k != 2 * stride:
            raise ValueError(f"polyphase form needs kernel = 2·stride, got kernel {k}, stride {stride}")
        s = stride
        w = torch.empty(s * c_out, c_in, 2)
        for p in range(s):
            w[p * c_out:(p + 1) * c_out, :, 0] = weight[:, :, p + s].t()
            w[p * c_out:(p + 1) * c_out, :, 1] = weight[:, :, p].t()
        self.conv = nn.Conv1d(c_in, s * c_out, 2, bias=bias is not None)
        self.conv.weight.data.copy_(w)
        if bias is not None:
            self.conv.bias.data.copy_(bias.repeat(s).clone())  # own copy: never shared with another op
        self.stride, self.c_out, self.frames, self.channels = s, c_out, frames, channels

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        full = torch.cat([state, x], dim=2)
        y = self.conv(full)  # [C, s·C_out, T]
        t, b = self.frames, self.channels
        y = y.reshape(b, self.stride, self.c_out, t).permute(0, 2, 3, 1).reshape(b, self.c_out, t * self.stride)
        return y, full[:, :, t:]


class GateLSTMLayer(nn.Module):
    """One LSTM layer as matmuls, from PyTorch's weights (gate order i, f, g, o).

    The gate rows are stored as (i, f, o, g) so the three sigmoid gates are one contiguous
    slice: one sigmoid and one tanh per frame instead of three sigmoids and a tanh over four
    slices: fewer ops in the recurrent loop (one tq64 layer, 16 frames, XNNPACK int8 alone:
    0.59 → 0.54 ms)."""

    def __init__(self, w_ih, w_hh, b_ih, b_hh, frames: int, channels: int = 1):
        super().__init__()
        hidden = w_hh.shape[1]
        order = torch.cat([torch.arange(0, 2 * hidden), torch.arange(3 * hidden, 4 * hidden),
                           torch.arange(2 * hidden, 3 * hidden)])  # (i, f, g, o) → (i, f, o, g)
        self.input_proj = nn.Linear(w_ih.shape[1], 4 * hidden)
        self.input_proj.weight.data.copy_(w_ih[order])
        self.input_proj.bias.data.copy_((b_ih + b_hh)[order])
        self.recurrent = nn.Linear(hidden, 4 * hidden, bias=False)
        self.recurrent.weight.data.copy_(w_hh[order])
        self.hidden, self.frames, self.channels = hidden, frames, channels  # constants: traced graphs stay static

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """x [T·C, H_in] (frame-major: row t·C + ch) → y [T·C, H]; h, c [C, H].

        Frame-major rows make each step's input one contiguous slice ``xp[t·C:(t+1)·C]`` and
        the output one concatenation, the same graph for mono and stereo."""
        xp = self.input_proj(x)
        outs = []
        H = self.hidden
        C = self.channels
        for t in range(self.frames):
            gates = xp[t * C:(t + 1) * C] + self.recurrent(h)
            ifo = torch.sigmoid(gates[:, :3 * H])
            g = torch.tanh(gates[:, 3 * H:])
            c = ifo[:, H:2 * H] * c + ifo[:, :H] * g
            h = ifo[:, 2 * H:] * torch.tanh(c)
            outs.append(h)
        return torch.cat(outs, dim=0), h, c


class StatefulResBlock(nn.Module):
    def __init__(self, block: SEANetResnetBlock, frames: int):
        super().__init__()
        conv_a, conv_b = block.block[1].conv, block.block[3].conv
        self.conv_a = StatefulConv1d(conv_a.weight.detach(), _bias(conv_a), conv_a.dilation[0], frames)
        pointwise = nn.Conv1d(conv_b.in_channels, conv_b.out_channels, 1, bias=conv_b.bias is not None)
        pointwise.weight.data.copy_(conv_b.weight.detach())
        if conv_b.bias is not None:
            pointwise.bias.data.copy_(conv_b.bias.detach())
        self.conv_b = pointwise
        self.native_elu = False

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        y, state = self.conv_a(elu(x, self.native_elu), state)
        return x + self.conv_b(elu(y, self.native_elu)), state


def _bias(conv: nn.Module) -> torch.Tensor | None:
    return None if conv.bias is None else conv.bias.detach()


CHANNEL_LAYOUT = "planar"  # the manifest's name for: batch dimension = channel, row 0 left, row 1 right
MAX_CHANNELS = 2


class StreamingDecoder(nn.Module):
    """Codes [C, n_q, K] (int32) + state → audio [C, 1, 64·K] + new state (C = ``channels``)."""

    def __init__(self, config: CodecConfig, lookup_tables: torch.Tensor, decoder: nn.Module, chunk_frames: int = 16,
                 channels: int = 1):
        super().__init__()
        if not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"channels must be 1 (mono) or 2 (stereo), got {channels}")
        self.channels = channels
        if config.subband:
            raise ValueError(f"config {config.name!r}: the streaming decoder supports full-band configs "
                             "(tq32/tq64/tq128); subband streaming export is not implemented")
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be ≥ 1, got {chunk_frames}")
        self.config, self.chunk_frames = config, chunk_frames
        n_q, k, d = lookup_tables.shape
        self.n_q, self.codebook_size, self.latent_dim = n_q, k, d
        self.register_buffer("table", lookup_tables.reshape(n_q * k, d).clone())
        self.register_buffer("offsets", (torch.arange(n_q, dtype=torch.int32) * k).view(1, n_q, 1))

        layers = list(decoder.model)
        K = chunk_frames
        conv_in = layers[0].conv
        self.conv_in = StatefulConv1d(conv_in.weight.detach(), _bias(conv_in), conv_in.dilation[0], K)
        lstm = layers[1].lstm
        self.lstm = nn.ModuleList(
            GateLSTMLayer(getattr(lstm, f"weight_ih_l{i}").detach(), getattr(lstm, f"weight_hh_l{i}").detach(),
                          getattr(lstm, f"bias_ih_l{i}").detach(), getattr(lstm, f"bias_hh_l{i}").detach(), K,
                          channels)
            for i in range(lstm.num_layers))
        self.upsamplers = nn.ModuleList()
        self.res_blocks = nn.ModuleList()
        frames = K
        idx = 2
        for ratio in config.ratios:
            assert isinstance(layers[idx], nn.ELU)
            tr = layers[idx + 1].convtr
            self.upsamplers.append(PolyphaseConvTranspose1d(tr.weight.detach(), _bias(tr), ratio, frames, channels))
            frames *= ratio
            idx += 2
            stage = nn.ModuleList()
            while idx < len(layers) and isinstance(layers[idx], SEANetResnetBlock):
                stage.append(StatefulResBlock(layers[idx], frames))
                idx += 1
            self.res_blocks.append(stage)
        conv_out = layers[idx + 1].conv
        self.conv_out = TapSumConv1d(conv_out.weight.detach(), _bias(conv_out), conv_out.dilation[0], frames)
        self.samples_per_chunk = frames
        self.native_elu = False

    def use_native_elu(self, native: bool = True) -> "StreamingDecoder":
        """Write every ELU as one ``aten.elu`` (see the module docstring); returns self."""
        self.native_elu = native
        for stage in self.res_blocks:
            for block in stage:
                block.native_elu = native
        return self

    def output_stage(self) -> tuple[str, ...]:
        """Module paths of the stage that runs at the output sample rate: the last upsampler,
        its residual blocks and ``conv_out``.

        Every int8 backend keeps these in float by default.  Their quantisation noise lands
        in the audio unfiltered and white, so it fills the band above the source's own
        low-pass (MP3/Vorbis music stops near 19 kHz; the decoder follows it), which raises
        LSD against the music although SNR stays high.  Measured on the trained tq64
        (LiteRT q/dq graph, 2 × 6 s): only ``conv_out`` float 37.8 dB, LSD +0.084 (19–22 kHz
        band carries it all); the whole output stage float 39.7 dB, LSD +0.001, with 87 % of
        the MACs still int8.
        """
        last = len(self.upsamplers) - 1
        return (f"upsamplers.{last}", f"res_blocks.{last}", "conv_out")

    def resolve_keep_float(self, keep_float) -> tuple[str, ...]:
        """An exporter's ``keep_float`` argument as paths: None means ``output_stage()``."""
        return self.output_stage() if keep_float is None else tuple(keep_float)

    # -- state layout ---------------------------------------------------------------
    def state_specs(self) -> list[TensorSpec]:
        """Every state tensor, in call order (this order is the artifact's contract); the first
        dimension is the channel."""
        C = self.channels
        specs = [TensorSpec("conv_in", (C, self.latent_dim, self.conv_in.context), "float32")]
        for i, layer in enumerate(self.lstm):
            specs.append(TensorSpec(f"lstm{i}_h", (C, layer.hidden), "float32"))
            specs.append(TensorSpec(f"lstm{i}_c", (C, layer.hidden), "float32"))
        for s, (up, stage) in enumerate(zip(self.upsamplers, self.res_blocks)):
            specs.append(TensorSpec(f"up{s}", (C, up.conv.in_channels, 1), "float32"))
            for r, block in enumerate(stage):
                specs.append(TensorSpec(f"up{s}_res{r}", (C, block.conv_a.conv.in_channels, block.conv_a.context),
                                        "float32"))
        specs.append(TensorSpec("conv_out", (C, self.conv_out.conv.in_channels, self.conv_out.context), "float32"))
        return specs

    def input_spec(self) -> TensorSpec:
        return TensorSpec("codes", (self.channels, self.n_q, self.chunk_frames), "int32")

    def output_spec(self) -> TensorSpec:
        return TensorSpec("audio", (self.channels, 1, self.samples_per_chunk), "float32")

    def channel_layout(self) -> str:
        """How channels sit in the call (``CHANNEL_LAYOUT``): the first dimension of codes,
        audio and every state tensor; row 0 is the left channel, row 1 the right."""
        return CHANNEL_LAYOUT

    def init_state(self) -> list[torch.Tensor]:
        return [torch.zeros(s.shape) for s in self.state_specs()]

    # -- the step -------------------------------------------------------------------
    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [C, n_q, K] → latent [C, d, K] (sum of per-stage table rows)."""
        flat = (codes.to(torch.int32) + self.offsets).reshape(-1)
        rows = self.table_rows(flat).reshape(self.channels, self.n_q, self.chunk_frames, self.latent_dim)
        return rows.sum(1).transpose(1, 2)

    def table_rows(self, flat: torch.Tensor) -> torch.Tensor:
        """Rows of the stacked codebook table for flat indices: the one step an exporter may
        replace (LiteRT stores the table in int8 with a scale per row)."""
        return F.embedding(flat, self.table)

    def sections(self) -> list[tuple[str, int]]:
        """The step's stages in order, each with how many state tensors it owns (``state_specs``
        order): ``front`` (codebook sum, ``conv_in``), ``lstm`` (both layers and the skip),
        ``stage0`` … (ELU, upsampler, its residual blocks), ``output`` (ELU, ``conv_out``).
        ``run_section`` runs one; profilers time them one by one."""
        stages = [(f"stage{s}", 1 + len(blocks)) for s, blocks in enumerate(self.res_blocks)]
        return [("front", 1), ("lstm", 2 * len(self.lstm)), *stages, ("output", 1)]

    def run_section(self, name: str, x: torch.Tensor, *state: torch.Tensor):
        """One section of the step: (input, its state) → (output, its new state)."""
        state = list(state)
        if name == "front":
            return self.conv_in(self.embed(x), state[0])
        if name == "lstm":
            C, K = self.channels, self.chunk_frames
            seq = skip = x.permute(2, 0, 1).reshape(K * C, -1)  # [C, D, K] → frame-major rows [K·C, D]
            new_state = []
            for i, layer in enumerate(self.lstm):
                seq, h, c = layer(seq, state[2 * i], state[2 * i + 1])
                new_state += [h, c]
            return ((seq + skip).reshape(K, C, -1).permute(1, 2, 0), *new_state)
        if name == "output":
            return self.conv_out(elu(x, self.native_elu), state[0])
        s = int(name.removeprefix("stage"))
        x, first = self.upsamplers[s](elu(x, self.native_elu), state[0])
        new_state = [first]
        for block, block_state in zip(self.res_blocks[s], state[1:]):
            x, block_state = block(x, block_state)
            new_state.append(block_state)
        return (x, *new_state)

    def forward(self, codes: torch.Tensor, *state: torch.Tensor):
        x, new_state, i = codes, [], 0
        for name, n in self.sections():
            x, *section_state = self.run_section(name, x, *state[i:i + n])
            new_state += section_state
            i += n
        return (x, *new_state)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, progress: bool = False) -> torch.Tensor:
        """Decode codes chunk by chunk (F a multiple of K, else zero-padded and trimmed): [n_q, F] →
        [F·hop] on a mono decoder, [C, n_q, F] → [C, F·hop] on any."""
        mono = codes.dim() == 2
        if mono:
            codes = codes[None]
        if codes.dim() != 3 or codes.shape[0] != self.channels:
            raise ValueError(f"a {self.channels}-channel decoder decodes codes [{self.channels}, n_q, F]"
                             + (" or [n_q, F]" if self.channels == 1 else "") + f", got {list(codes.shape)}")
        K = self.chunk_frames
        frames = codes.shape[-1]
        padded = F.pad(codes.to(torch.int32), (0, (-frames) % K))
        state = self.init_state()
        out = []
        chunks = range(0, padded.shape[-1], K)
        if progress:
            from tqdm import tqdm
            chunks = tqdm(chunks, desc="decode", unit="chunk", leave=False)
        for start in chunks:
            y, *state = self(padded[:, :, start:start + K], *state)
            out.append(y[:, 0])
        audio = torch.cat(out, dim=1)[:, : frames * self.config.hop_length]
        return audio[0] if mono else audio
