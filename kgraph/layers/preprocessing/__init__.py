"""Preprocessing layers: numeric ones lower to both targets; lookup, hashing and text layers run on the host."""

from kgraph.layers.preprocessing.aug_mix import AugMix
from kgraph.layers.preprocessing.augmentation import (
    RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomShear, RandomTranslation,
    RandomZoom,
)
from kgraph.layers.preprocessing.bounding_boxes import MaxNumBoundingBoxes
from kgraph.layers.preprocessing.category_encoding import CategoryEncoding
from kgraph.layers.preprocessing.color import (
    AutoContrast, RandomColorDegeneration, RandomGrayscale, RandomInvert, Solarization,
)
from kgraph.layers.preprocessing.clahe import ContrastLimitedAdaptiveHistogramEqualization
from kgraph.layers.preprocessing.discretization import Discretization
from kgraph.layers.preprocessing.elastic import RandomElasticTransform
from kgraph.layers.preprocessing.filters import RandomGaussianBlur, RandomPosterization, RandomSharpness
from kgraph.layers.preprocessing.hashing import HashedCrossing, Hashing
from kgraph.layers.preprocessing.histogram import Equalization
from kgraph.layers.preprocessing.hsv import RandomColorJitter, RandomHue, RandomSaturation
from kgraph.layers.preprocessing.image_layers import CenterCrop, Resizing
from kgraph.layers.preprocessing.integer_lookup import IntegerLookup
from kgraph.layers.preprocessing.mixing import CutMix, MixUp, RandomErasing
from kgraph.layers.preprocessing.normalization import Normalization
from kgraph.layers.preprocessing.perspective import RandomPerspective
from kgraph.layers.preprocessing.pipeline import Pipeline
from kgraph.layers.preprocessing.rand_augment import RandAugment
from kgraph.layers.preprocessing.rescaling import Rescaling
from kgraph.layers.preprocessing.string_lookup import StringLookup
from kgraph.layers.preprocessing.text_vectorization import TextVectorization

__all__ = ["AugMix", "AutoContrast", "CategoryEncoding", "CenterCrop", "ContrastLimitedAdaptiveHistogramEqualization",
           "CutMix", "Discretization", "Equalization", "HashedCrossing", "Hashing", "IntegerLookup",
           "MaxNumBoundingBoxes", "MixUp", "Normalization", "Pipeline", "RandAugment", "RandomBrightness",
           "RandomColorDegeneration", "RandomColorJitter", "RandomContrast", "RandomCrop", "RandomElasticTransform",
           "RandomErasing", "RandomFlip", "RandomGaussianBlur", "RandomGrayscale", "RandomHue", "RandomInvert",
           "RandomPerspective", "RandomPosterization", "RandomRotation", "RandomSaturation", "RandomSharpness",
           "RandomShear", "RandomTranslation", "RandomZoom", "Rescaling", "Resizing", "Solarization", "StringLookup",
           "TextVectorization"]
