"""Two modern architectures for small images, as factories of the architectures
catalog: a ResNet-style network (BatchNorm, residual blocks, global pooling) and
a MobileNet-style one (depthwise-separable blocks, 1x1 convolutions, BatchNorm).

Each takes `input_shape` and `num_classes` (the dataset's) and its widths, and
returns a tf_keras Functional model whose last layer, `logits`, outputs float32
logits (no softmax), as every architecture of the catalog does.

>>> model = mobilenet((32, 32, 3), 10)      # doctest: +SKIP
>>> models.macs(model)[0]                    # doctest: +SKIP
1149184
"""
from __future__ import annotations

import tf_keras as keras

L = keras.layers


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, relu: bool = True):
    # No conv bias: the BatchNorm after it has its own shift (folded at export).
    x = L.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = L.BatchNormalization(name=f"{name}_bn")(x)
    return L.ReLU(name=f"{name}_relu")(x) if relu else x


def _head(x, num_classes: int):
    x = L.GlobalAveragePooling2D(name="pool")(x)
    # Logits stay float32 under mixed precision: softmax and the losses need the range.
    return L.Dense(num_classes, name="logits", dtype="float32")(x)


def resnet(input_shape, num_classes: int, *, widths=(16, 32, 64), blocks: int = 1, stem_stride: int = 2,
           name: str = "resnet"):
    """ResNet-style (He et al. 2016, basic blocks): a 3x3 conv stem, then per width
    `blocks` residual blocks of two 3x3 conv + BatchNorm, the first of each stage
    after the first with stride 2 and a 1x1 projection shortcut; global average
    pooling and the logits. The defaults: about 3.1 M MACs on CIFAR-10."""
    inputs = keras.Input(shape=tuple(input_shape))
    x = _conv_bn(inputs, widths[0], 3, stem_stride, "stem")
    for s, width in enumerate(widths):
        for b in range(blocks):
            stride = 2 if s > 0 and b == 0 else 1
            tag = f"s{s}b{b}"
            y = _conv_bn(x, width, 3, stride, f"{tag}a")
            y = _conv_bn(y, width, 3, 1, f"{tag}b", relu=False)
            shortcut = x if stride == 1 and x.shape[-1] == width else _conv_bn(x, width, 1, stride, f"{tag}p",
                                                                                relu=False)
            x = L.ReLU(name=f"{tag}_out")(L.Add(name=f"{tag}_add")([shortcut, y]))
    return keras.Model(inputs, _head(x, num_classes), name=name)


def mobilenet(input_shape, num_classes: int, *, stem: int = 16,
              blocks=((32, 1), (64, 2), (64, 1), (128, 2), (128, 1)), name: str = "mobilenet"):
    """MobileNet-style (Howard et al. 2017): a 3x3 stride-2 conv stem, then
    depthwise-separable blocks (a 3x3 depthwise conv + BatchNorm + ReLU, a 1x1
    pointwise conv + BatchNorm + ReLU), each block (width, stride); global average
    pooling and the logits. The defaults: about 1.1 M MACs on CIFAR-10."""
    inputs = keras.Input(shape=tuple(input_shape))
    x = _conv_bn(inputs, stem, 3, 2, "stem")
    for i, (width, stride) in enumerate(blocks):
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"b{i}_dw")(x)
        x = L.BatchNormalization(name=f"b{i}_dw_bn")(x)
        x = L.ReLU(name=f"b{i}_dw_relu")(x)
        x = _conv_bn(x, width, 1, 1, f"b{i}_pw")
    return keras.Model(inputs, _head(x, num_classes), name=name)
