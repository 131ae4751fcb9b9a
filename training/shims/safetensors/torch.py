"""safetensors.torch.load_file / save_file / load / save in pure Python (torch + numpy)."""
import json
import struct

import numpy as np
import torch

from . import SafetensorError

_DT = {
    "F32": (torch.float32, np.float32), "F16": (torch.float16, np.float16), "F64": (torch.float64, np.float64),
    "I64": (torch.int64, np.int64), "I32": (torch.int32, np.int32), "I16": (torch.int16, np.int16),
    "I8": (torch.int8, np.int8), "U8": (torch.uint8, np.uint8), "BOOL": (torch.bool, np.bool_),
}
_TORCH2CODE = {v[0]: k for k, v in _DT.items()}


def save(tensors, metadata=None) -> bytes:
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _TORCH2CODE:
            raise SafetensorError(f"unsupported dtype {t.dtype} for {name}")
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _TORCH2CODE[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # align the data section to 8 bytes, as the reference writer does
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def save_file(tensors, filename, metadata=None):
    with open(filename, "wb") as f:
        f.write(save(tensors, metadata))


def load(data: bytes, device="cpu"):
    if len(data) < 8:
        raise SafetensorError("file too short")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise SafetensorError("header length past end of file")
    header = json.loads(data[8:8 + n].decode())
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        tdt, ndt = _DT[info["dtype"]]
        b, e = info["data_offsets"]
        if base + e > len(data):
            raise SafetensorError(f"tensor {name} past end of file")
        arr = np.frombuffer(data, dtype=np.dtype(ndt).newbyteorder("<"), count=(e - b) // np.dtype(ndt).itemsize,
                            offset=base + b)
        out[name] = torch.from_numpy(arr.astype(ndt).reshape(info["shape"]).copy()).to(device)
    return out


def load_file(filename, device="cpu"):
    with open(filename, "rb") as f:
        return load(f.read(), device=device)
