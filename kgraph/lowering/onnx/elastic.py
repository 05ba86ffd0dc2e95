"""ONNX's refusal of the elastic transform."""

from kgraph.lowering.onnx.registry import onnx_refusal

onnx_refusal("elastic_transform", "its displacement fields are drawn with JAX's PRNG (the values Keras draws), which "
                                  "ONNX's RandomNormal cannot reproduce; RandomElasticTransform, the identity in "
                                  "inference, leaves it out of graphs traced with training=False")
