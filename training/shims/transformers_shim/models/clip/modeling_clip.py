"""Hugging Face CLIP text and vision towers, re-implemented (our code) with HF's parameter names and math.

Only what diffusers' UnCLIPPipeline / UnCLIPImageVariationPipeline and our training need.
State-dict keys match transformers' CLIPTextModelWithProjection / CLIPVisionModelWithProjection
(text_model.embeddings.token_embedding.weight, text_model.encoder.layers.N.self_attn.q_proj.weight, ...,
text_model.final_layer_norm, text_projection; vision_model.embeddings.class_embedding, patch_embedding,
position_embedding, vision_model.pre_layrnorm (sic), post_layernorm, visual_projection).

Pooling of the text tower: the hidden state at the first position of the highest token id
(argmax of input_ids), as transformers' classic implementation does. Our tokenizer puts
<|endoftext|> last in the vocabulary, so this is also the first end-of-text token
(eos_token_id-based pooling gives the same answer).
"""
import json
import os
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from ...configuration_utils import PretrainedConfig
from ...modeling_utils import PreTrainedModel
from ...utils import ModelOutput


class CLIPTextConfig(PretrainedConfig):
    model_type = "clip_text_model"

    def __init__(self, vocab_size=49408, hidden_size=512, intermediate_size=2048, projection_dim=512,
                 num_hidden_layers=12, num_attention_heads=8, max_position_embeddings=77, hidden_act="quick_gelu",
                 layer_norm_eps=1e-5, attention_dropout=0.0, initializer_range=0.02, initializer_factor=1.0,
                 pad_token_id=1, bos_token_id=49406, eos_token_id=49407, **kwargs):
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        self.initializer_factor = initializer_factor


class CLIPVisionConfig(PretrainedConfig):
    model_type = "clip_vision_model"

    def __init__(self, hidden_size=768, intermediate_size=3072, projection_dim=512, num_hidden_layers=12,
                 num_attention_heads=12, num_channels=3, image_size=224, patch_size=32, hidden_act="quick_gelu",
                 layer_norm_eps=1e-5, attention_dropout=0.0, initializer_range=0.02, initializer_factor=1.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_channels = num_channels
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        self.initializer_factor = initializer_factor


@dataclass
class CLIPTextModelOutput(ModelOutput):
    text_embeds: Optional[torch.FloatTensor] = None
    last_hidden_state: torch.FloatTensor = None
    hidden_states: Optional[tuple] = None
    attentions: Optional[tuple] = None


@dataclass
class CLIPVisionModelOutput(ModelOutput):
    image_embeds: Optional[torch.FloatTensor] = None
    last_hidden_state: torch.FloatTensor = None
    hidden_states: Optional[tuple] = None
    attentions: Optional[tuple] = None


def _act(name):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return nn.functional.gelu
    raise ValueError(f"unsupported hidden_act {name}")


class CLIPAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed_dim = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError("hidden_size must be divisible by num_attention_heads")
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def forward(self, x, additive_mask=None):
        B, T, C = x.shape
        q = (self.q_proj(x) * self.scale).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
        w = q @ k.transpose(-1, -2)  # [B, h, T, T]
        if additive_mask is not None:
            w = w + additive_mask
        w = w.softmax(-1)
        o = (w @ v).transpose(1, 2).reshape(B, T, C)
        return self.out_proj(o)


class CLIPMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.activation_fn = _act(config.hidden_act)
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x):
        return self.fc2(self.activation_fn(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = CLIPAttention(config)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x, additive_mask=None):
        x = x + self.self_attn(self.layer_norm1(x), additive_mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, x, additive_mask=None):
        for layer in self.layers:
            x = layer(x, additive_mask)
        return x


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embedding = nn.Embedding(config.max_position_embeddings, config.hidden_size)

    def forward(self, input_ids):
        T = input_ids.shape[-1]
        pos = torch.arange(T, device=input_ids.device)
        return self.token_embedding(input_ids) + self.position_embedding(pos)[None]


class CLIPTextTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = CLIPTextEmbeddings(config)
        self.encoder = CLIPEncoder(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids, attention_mask=None):
        B, T = input_ids.shape
        x = self.embeddings(input_ids)
        causal = torch.full((T, T), torch.finfo(x.dtype).min, dtype=x.dtype, device=x.device).triu(1)
        mask = causal[None, None]
        if attention_mask is not None:  # [B, T] 1 = keep; HF adds the expanded padding mask to the causal one
            pad = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
            mask = mask + pad
        x = self.encoder(x, mask)
        x = self.final_layer_norm(x)
        pooled = x[torch.arange(B, device=x.device), input_ids.to(torch.int).argmax(dim=-1)]
        return x, pooled


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.randn(config.hidden_size))
        self.patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, kernel_size=config.patch_size,
                                         stride=config.patch_size, bias=False)
        self.num_positions = (config.image_size // config.patch_size) ** 2 + 1
        self.position_embedding = nn.Embedding(self.num_positions, config.hidden_size)

    def forward(self, pixel_values):
        B = pixel_values.shape[0]
        p = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)  # [B, N, C]
        cls = self.class_embedding.expand(B, 1, -1)
        x = torch.cat([cls, p], dim=1)
        return x + self.position_embedding(torch.arange(self.num_positions, device=x.device))[None]


class CLIPVisionTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = CLIPVisionEmbeddings(config)
        self.pre_layrnorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.encoder = CLIPEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values):
        x = self.pre_layrnorm(self.embeddings(pixel_values))
        x = self.encoder(x)
        pooled = self.post_layernorm(x[:, 0])
        return x, pooled


def _init_clip(module, std):
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding, nn.Conv2d)):
            nn.init.normal_(m.weight, std=std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


class CLIPTextModelWithProjection(PreTrainedModel):
    config_class = CLIPTextConfig

    def __init__(self, config):
        super().__init__(config)
        self.text_model = CLIPTextTransformer(config)
        self.text_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)
        _init_clip(self, config.initializer_range)

    def forward(self, input_ids, attention_mask=None, return_dict=True, **kwargs):
        last, pooled = self.text_model(input_ids, attention_mask)
        out = CLIPTextModelOutput(text_embeds=self.text_projection(pooled), last_hidden_state=last)
        return out if return_dict else out.to_tuple()


class CLIPVisionModelWithProjection(PreTrainedModel):
    config_class = CLIPVisionConfig
    main_input_name = "pixel_values"

    def __init__(self, config):
        super().__init__(config)
        self.vision_model = CLIPVisionTransformer(config)
        self.visual_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)
        _init_clip(self, config.initializer_range)
        nn.init.normal_(self.vision_model.embeddings.class_embedding, std=config.hidden_size ** -0.5)

    def forward(self, pixel_values, return_dict=True, **kwargs):
        last, pooled = self.vision_model(pixel_values)
        out = CLIPVisionModelOutput(image_embeds=self.visual_projection(pooled), last_hidden_state=last)
        return out if return_dict else out.to_tuple()
