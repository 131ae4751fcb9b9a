"""A few lines of safetensors, our own (the compiled `safetensors` package is not available here):
8 bytes of little-endian header length, a JSON header padded with spaces to a multiple of 8, then
the raw little-endian tensor bytes in header order."""
import json
import struct

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int64"): "I64", np.dtype("uint8"): "U8",
           np.dtype("int32"): "I32", np.dtype("float64"): "F64"}
_NUMPY = {v: k for k, v in _DTYPES.items()}


def save(tensors, path, metadata=None):
    """tensors: dict name -> numpy array (or torch tensor); written in the dict's order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, a in tensors.items():
        dtype = None
        if hasattr(a, "detach"):
            a = a.detach().cpu().contiguous()
            if str(a.dtype) == "torch.bfloat16":  # numpy has no bfloat16: write its bits
                dtype, a = "BF16", a.view(dtype=__import__("torch").int16)
            a = a.numpy()
        a = np.ascontiguousarray(a)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        data = a.tobytes()
        header[name] = {"dtype": dtype or _DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """name -> numpy array (copies)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + end], dtype=_NUMPY[e["dtype"]]).reshape(e["shape"]).copy()
    return out
