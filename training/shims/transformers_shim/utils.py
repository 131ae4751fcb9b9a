"""transformers.utils: the few names diffusers imports."""
import logging as _logging
from collections import OrderedDict

WEIGHTS_NAME = "pytorch_model.bin"
SAFE_WEIGHTS_NAME = "model.safetensors"
FLAX_WEIGHTS_NAME = "flax_model.msgpack"
CONFIG_NAME = "config.json"


class logging:  # noqa: N801  (mirrors transformers.utils.logging)
    get_logger = staticmethod(_logging.getLogger)


class ModelOutput(OrderedDict):
    """Dataclass outputs that also index by position and by key, like transformers' ModelOutput."""

    def __post_init__(self):
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            if v is not None:
                OrderedDict.__setitem__(self, k, v)

    def __getitem__(self, k):
        if isinstance(k, str):
            return OrderedDict.__getitem__(self, k)
        return self.to_tuple()[k]

    def to_tuple(self):
        return tuple(self[k] for k in self.keys())
