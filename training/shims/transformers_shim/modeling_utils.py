"""PreTrainedModel (our minimal version): config + safetensors weights in a Hugging Face folder."""
import os

import torch
from torch import nn

from .utils import SAFE_WEIGHTS_NAME, WEIGHTS_NAME


class ModuleUtilsMixin:
    pass


class PreTrainedModel(nn.Module, ModuleUtilsMixin):
    config_class = None
    main_input_name = "input_ids"

    def __init__(self, config, *args, **kwargs):
        super().__init__()
        self.config = config

    @property
    def device(self):
        return next(self.parameters()).device

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    @classmethod
    def from_pretrained(cls, path, subfolder=None, torch_dtype=None, **kwargs):
        d = os.path.join(path, subfolder) if subfolder else path
        config = cls.config_class.from_json_file(os.path.join(d, "config.json"))
        model = cls(config)
        st = os.path.join(d, SAFE_WEIGHTS_NAME)
        if os.path.exists(st):
            from safetensors.torch import load_file
            sd = load_file(st)
        else:
            sd = torch.load(os.path.join(d, WEIGHTS_NAME), map_location="cpu")
        sd = {k: v for k, v in sd.items() if not k.endswith("position_ids")}
        missing, unexpected = model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)
        if missing or unexpected:
            raise ValueError(f"{d}: missing keys {missing}, unexpected keys {unexpected}")
        if torch_dtype is not None:
            model = model.to(torch_dtype)
        return model.eval()

    def save_pretrained(self, save_directory, safe_serialization=True, dtype=None, **kwargs):
        from safetensors.torch import save_file
        os.makedirs(save_directory, exist_ok=True)
        self.config.architectures = [type(self).__name__]
        self.config.torch_dtype = str(dtype or self.dtype).replace("torch.", "")
        self.config.save_pretrained(save_directory)
        sd = {k: (v.to(dtype) if dtype is not None else v) for k, v in self.state_dict().items()}
        save_file(sd, os.path.join(save_directory, SAFE_WEIGHTS_NAME), metadata={"format": "pt"})
