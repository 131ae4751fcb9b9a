"""A minimal, our-own stand-in for Hugging Face `transformers` (this machine has no PyPI access).

It lives under its own name (a folder named `transformers` would read as vendored third-party
code) and registers itself and its submodules as `transformers` when imported: training/common.py
imports it before anything imports diffusers.

Real: the CLIP text/vision towers with projection, their configs, CLIPTokenizer (BPE, HF file layout),
CLIPImageProcessor, and the base classes diffusers 0.20 checks against. Every other name that diffusers'
unrelated pipelines import at module level resolves to a placeholder class that raises if used, so that
`import diffusers` works; any other submodule `transformers.x.y` resolves to a placeholder module.
"""
import importlib.abc
import importlib.machinery
import sys
import types

__version__ = "4.31.0"

from .configuration_utils import PretrainedConfig  # noqa: E402
from .image_processing_utils import FeatureExtractionMixin, ImageProcessingMixin  # noqa: E402
from .modeling_utils import PreTrainedModel  # noqa: E402
from .models.clip import (CLIPFeatureExtractor, CLIPImageProcessor, CLIPTextConfig, CLIPTextModelWithProjection,  # noqa: E402
                          CLIPTokenizer, CLIPVisionConfig, CLIPVisionModelWithProjection)
from .tokenization_utils import PreTrainedTokenizer, PreTrainedTokenizerFast  # noqa: E402


class ProcessorMixin:
    pass


class _Placeholder:
    def __init__(self, *a, **k):
        raise NotImplementedError(f"{type(self).__name__} is not part of unclip4j's transformers shim")

    @classmethod
    def from_pretrained(cls, *a, **k):
        raise NotImplementedError(f"{cls.__name__} is not part of unclip4j's transformers shim")


def _placeholder_getattr(modname):
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name.isupper() or name.startswith("ACT2"):
            return {}
        cls = type(name, (_Placeholder,), {"__module__": modname})
        return cls
    return __getattr__


__getattr__ = _placeholder_getattr(__name__)


class _PlaceholderFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.startswith("transformers."):
            # only if no real file provides it
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                try:
                    spec = finder.find_spec(fullname, path, target)
                except Exception:
                    spec = None
                if spec is not None:
                    return None
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []
        m.__getattr__ = _placeholder_getattr(spec.name)
        return m

    def exec_module(self, module):
        pass


sys.meta_path.append(_PlaceholderFinder())


# Serve `import transformers` and `transformers.models.clip…` with this package and its modules.
for _name, _module in list(sys.modules.items()):
    if _name == __name__ or _name.startswith(__name__ + "."):
        sys.modules["transformers" + _name[len(__name__):]] = _module
