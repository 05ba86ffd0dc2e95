"""`kgraph.applications`: Keras' ImageNet architectures, layer for layer, so Keras weight files load into them."""

from kgraph.applications import (
    convnext,
    densenet,
    efficientnet,
    efficientnet_v2,
    imagenet_utils,
    inception_resnet_v2,
    inception_v3,
    mobilenet,
    mobilenet_v2,
    mobilenet_v3,
    nasnet,
    resnet,
    resnet50,
    resnet_v2,
    vgg16,
    vgg19,
    xception,
)
from kgraph.applications.convnext import ConvNeXtBase, ConvNeXtLarge, ConvNeXtSmall, ConvNeXtTiny, ConvNeXtXLarge
from kgraph.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from kgraph.applications.efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
)
from kgraph.applications.efficientnet_v2 import (
    EfficientNetV2B0,
    EfficientNetV2B1,
    EfficientNetV2B2,
    EfficientNetV2B3,
    EfficientNetV2L,
    EfficientNetV2M,
    EfficientNetV2S,
)
from kgraph.applications.inception_resnet_v2 import InceptionResNetV2
from kgraph.applications.inception_v3 import InceptionV3
from kgraph.applications.mobilenet import MobileNet
from kgraph.applications.mobilenet_v2 import MobileNetV2
from kgraph.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from kgraph.applications.nasnet import NASNetLarge, NASNetMobile
from kgraph.applications.resnet import ResNet50, ResNet101, ResNet152
from kgraph.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from kgraph.applications.vgg16 import VGG16
from kgraph.applications.vgg19 import VGG19
from kgraph.applications.xception import Xception
