"""PretrainedConfig (our minimal version): attributes + HF-format config.json round trip."""
import copy
import json
import os


class PretrainedConfig:
    model_type = ""

    def __init__(self, pad_token_id=None, bos_token_id=None, eos_token_id=None, **kwargs):
        self.pad_token_id, self.bos_token_id, self.eos_token_id = pad_token_id, bos_token_id, eos_token_id
        self.architectures = kwargs.pop("architectures", None)
        self.torch_dtype = kwargs.pop("torch_dtype", "float32")
        kwargs.pop("transformers_version", None)
        kwargs.pop("model_type", None)
        kwargs.pop("_name_or_path", None)
        for k, v in kwargs.items():
            setattr(self, k, v)

    def to_dict(self):
        d = copy.deepcopy(self.__dict__)
        d["model_type"] = self.model_type
        d["transformers_version"] = "4.31.0"
        return d

    def to_json_string(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save_pretrained(self, d):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            f.write(self.to_json_string())

    @classmethod
    def from_json_file(cls, path):
        with open(path) as f:
            return cls(**json.load(f))
