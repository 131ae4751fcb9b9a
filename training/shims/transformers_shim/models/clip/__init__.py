from .image_processing_clip import CLIPFeatureExtractor, CLIPImageProcessor
from .modeling_clip import (CLIPTextConfig, CLIPTextModelOutput, CLIPTextModelWithProjection, CLIPVisionConfig,
                            CLIPVisionModelOutput, CLIPVisionModelWithProjection)
from .tokenization_clip import CLIPTokenizer
