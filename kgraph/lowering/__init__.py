"""Lowerings of the IR to its targets: JAX (XLA) for training and ONNX for inference."""
