from .tokenization_utils import BatchEncoding as BatchFeature


class ImageProcessingMixin:
    pass


FeatureExtractionMixin = ImageProcessingMixin
