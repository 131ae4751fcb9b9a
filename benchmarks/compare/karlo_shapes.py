"""The kernel calls of one forward of Karlo's networks, derived from their diffusers configs.

benchmarks/compare/cpu.sh times conv 3x3, linear, group norm + SiLU and attention at exactly the
shapes the networks run. This module lists them from the config alone (no torch, no diffusers:
the CI smoke needs the list where neither is installed), by walking the blocks the way diffusers
v0.20.0 builds them. Where diffusers is present, cpu_torch.py traces the real modules during
the warm-up forward and the driver checks that the two lists are the same call for call
(`trace_matches`), so a mistake here cannot go unnoticed.

An op is a tuple, its first field the family:
    ("conv", N, H, W, Cin, Cout, K, stride)      input N x H x W x Cin, padding K // 2
    ("linear", M, N, K)                          [M, K] x [K, N], nn.Linear on M rows
    ("group_norm", N, C, HW, groups, silu)       silu: an nn.SiLU on its output follows it
    ("attention", BH, Lq, Lk, D)                 softmax(q kT) v per head, BH = batch x heads
`ops(network, config, batch, size, text)` returns a collections.Counter of them (calls per forward).
"""
import collections

GROUPS = 32  # norm_num_groups / resnet_groups: diffusers' default, Karlo's


def flops(op):
    """Multiply-adds x 2 of one call (group norm: none counted)."""
    kind = op[0]
    if kind == "conv":
        _, n, h, w, cin, cout, k, stride = op
        return 2 * n * (h // stride) * (w // stride) * cin * cout * k * k
    if kind == "linear":
        _, m, n, k = op
        return 2 * m * n * k
    if kind == "attention":
        _, bh, lq, lk, d = op
        return 4 * bh * lq * lk * d  # q kT and p v
    return 0


class _Trace:
    """Collects ops while walking a network, keeping the current batch and spatial size."""

    def __init__(self, batch):
        self.batch = batch
        self.ops = collections.Counter()

    def linear(self, m, n, k):
        self.ops[("linear", m, n, k)] += 1

    def conv(self, h, w, cin, cout, k=3):
        self.ops[("conv", self.batch, h, w, cin, cout, k, 1)] += 1

    def group_norm(self, c, hw, silu):
        self.ops[("group_norm", self.batch, c, hw, GROUPS, silu)] += 1

    def resnet(self, size, cin, cout, temb, scale_shift, down=False, up=False):
        """diffusers' ResnetBlock2D: norm1+SiLU, [resample], conv1, time_emb_proj, norm2+SiLU, conv2,
        1x1 conv_shortcut when the channels change. down: avg-pool before conv1; up: nearest 2x."""
        self.group_norm(cin, size * size, True)
        out = size // 2 if down else size * 2 if up else size
        self.conv(out, out, cin, cout)
        self.linear(self.batch, 2 * cout if scale_shift else cout, temb)  # after an nn.SiLU on temb
        self.group_norm(cout, out * out, True)
        self.conv(out, out, cout, cout)
        if cin != cout:
            self.conv(out, out, cin, cout, k=1)
        return out

    def added_kv_attention(self, size, channels, head_dim, cross_dim, text):
        """diffusers' Attention with added_kv_proj_dim and AttnAddedKVProcessor: group norm, to_q,
        to_k and to_v of the pixels, add_k_proj / add_v_proj of the text, text keys first."""
        n, hw, heads = self.batch, size * size, channels // head_dim
        self.group_norm(channels, hw, False)
        for _ in range(3):
            self.linear(n * hw, channels, channels)  # to_q, to_k, to_v
        for _ in range(2):
            self.linear(n * text, channels, cross_dim)  # add_k_proj, add_v_proj
        self.ops[("attention", n * heads, hw, text + hw, head_dim)] += 1
        self.linear(n * hw, channels, channels)  # to_out[0]


def _unet(config, batch, size, text, conditional):
    """UNet2DConditionModel (conditional) or UNet2DModel with the block types Karlo uses."""
    channels = tuple(config["block_out_channels"])
    layers = config["layers_per_block"]
    scale_shift = config.get("resnet_time_scale_shift", "default") == "scale_shift"
    head_dim = config.get("attention_head_dim", 8)
    cross_dim = config.get("cross_attention_dim", 1280)
    temb = channels[0] * 4
    t = _Trace(batch)
    t.linear(batch, temb, channels[0])  # time_embedding.linear_1
    t.linear(batch, temb, temb)  # time_embedding.linear_2 (class embedding: identity, no layer)
    t.conv(size, size, config["in_channels"], channels[0])  # conv_in
    skips = [channels[0]]
    s, cin = size, channels[0]
    for i, (kind, cout) in enumerate(zip(config["down_block_types"], channels)):
        if kind not in ("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"):
            raise ValueError(f"down block {kind} is not one of Karlo's")
        for j in range(layers):
            t.resnet(s, cin if j == 0 else cout, cout, temb, scale_shift)
            if kind == "SimpleCrossAttnDownBlock2D":
                t.added_kv_attention(s, cout, head_dim, cross_dim, text)
            skips.append(cout)
        cin = cout
        if i < len(channels) - 1:
            s = t.resnet(s, cout, cout, temb, scale_shift, down=True)
            skips.append(cout)
    mid = config.get("mid_block_type", "UNetMidBlock2DCrossAttn")
    c = channels[-1]
    t.resnet(s, c, c, temb, scale_shift)
    if conditional and mid == "UNetMidBlock2DSimpleCrossAttn":
        t.added_kv_attention(s, c, head_dim, cross_dim, text)
    elif conditional or config.get("add_attention", True):
        raise ValueError(f"mid block {mid} with attention is not one of Karlo's")
    t.resnet(s, c, c, temb, scale_shift)
    reversed_channels = channels[::-1]
    prev = c
    for i, (kind, cout) in enumerate(zip(config["up_block_types"], reversed_channels)):
        if kind not in ("ResnetUpsampleBlock2D", "SimpleCrossAttnUpBlock2D"):
            raise ValueError(f"up block {kind} is not one of Karlo's")
        for j in range(layers + 1):
            t.resnet(s, (prev if j == 0 else cout) + skips.pop(), cout, temb, scale_shift)
            if kind == "SimpleCrossAttnUpBlock2D":
                t.added_kv_attention(s, cout, head_dim, cross_dim, text)
        prev = cout
        if i < len(channels) - 1:
            s = t.resnet(s, cout, cout, temb, scale_shift, up=True)
    t.group_norm(channels[0], s * s, True)  # conv_norm_out + conv_act
    t.conv(s, s, channels[0], config["out_channels"])  # conv_out
    return t.ops


def _prior(config, batch, text):
    """PriorTransformer (diffusers' defaults unless the config says otherwise): Karlo's prior."""
    heads, head_dim = config.get("num_attention_heads", 32), config.get("attention_head_dim", 64)
    inner, embedding = heads * head_dim, config.get("embedding_dim", 768)
    tokens = text + 1 + 1 + 1 + 1  # text, projected embedding, time, the noisy embedding, prd
    m = batch * tokens
    t = _Trace(batch)
    t.linear(batch, inner, inner)  # time_embedding.linear_1 (time_proj is as wide as inner_dim)
    t.linear(batch, inner, inner)  # time_embedding.linear_2
    t.linear(batch, inner, embedding)  # embedding_proj
    t.linear(batch * text, inner, embedding)  # encoder_hidden_states_proj
    t.linear(batch, inner, embedding)  # proj_in
    for _ in range(config.get("num_layers", 20)):
        for _ in range(4):
            t.linear(m, inner, inner)  # to_q, to_k, to_v, to_out[0]
        t.ops[("attention", batch * heads, tokens, tokens, head_dim)] += 1  # causal + padding mask, added
        t.linear(m, 4 * inner, inner)  # ff: GELU's proj
        t.linear(m, inner, 4 * inner)  # ff: net[2]
    t.linear(batch, embedding, inner)  # proj_to_clip_embeddings of the last token
    return t.ops


def ops(network, config, batch, size, text):
    if network == "prior":
        return _prior(config, batch, text)
    return _unet(config, batch, size, text, conditional=network == "decoder")


def trace_matches(derived, traced):
    """Empty when equal; else lines naming each op whose count differs (derived vs traced)."""
    return [f"{op}: derived {derived.get(op, 0)}, traced {traced.get(op, 0)}"
            for op in sorted(set(derived) | set(traced), key=str) if derived.get(op, 0) != traced.get(op, 0)]
