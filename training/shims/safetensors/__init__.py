"""Pure-Python stand-in for the `safetensors` package (only what diffusers 0.20 and our scripts use).

Format: 8-byte little-endian header length N, N bytes of JSON header
{name: {"dtype": "F32"|"F16"|..., "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}},
then the raw little-endian tensor bytes (offsets relative to the end of the header).
"""


class SafetensorError(Exception):
    pass


from . import torch  # noqa: E402,F401  (diffusers calls safetensors.torch.* after a bare `import safetensors`)
