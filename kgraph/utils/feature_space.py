"""FeatureSpace: Keras' one-stop preprocessing of structured data (dicts of feature columns) into model inputs.

As in Keras, it runs on TensorFlow ops on the host (eagerly, or inside a tf.data `map`), built from kgraph's
preprocessing layers; in a Functional model it is a host stage that runs before the compiled part.
"""

from __future__ import annotations

import numpy as np

from kgraph import config, tree
from kgraph.keras_tensor import KerasTensor
from kgraph.layers import (
    CategoryEncoding, Discretization, HashedCrossing, Hashing, Input, IntegerLookup, Normalization, Rescaling,
    StringLookup, TextVectorization,
)
from kgraph.layers.layer import Layer, Node, unique_name
from kgraph.tracing import SymbolicTensor
from kgraph.saving import deserialize_keras_object, get_custom_objects, save_model, serialize_keras_object
from kgraph.utils.dataset_utils import _tf
import jax.numpy as jnp

_MODULE = "keras.src.layers.preprocessing.feature_space"


class Cross:
    """A feature cross: the named features hashed together into `crossing_dim` bins."""

    _keras_location = (_MODULE, "Cross", "Cross")

    def __init__(self, feature_names, crossing_dim: int, output_mode: str = "one_hot"):
        if output_mode not in {"int", "one_hot"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot'}. "
                             f"Received: output_mode={output_mode}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config_: dict) -> "Cross":
        return cls(**config_)


class Feature:
    """One feature: the dtype it is fed as, the layer that preprocesses it and how its output is encoded."""

    _keras_location = (_MODULE, "Feature", "Feature")

    def __init__(self, dtype: str, preprocessor, output_mode: str):
        if output_mode not in {"int", "one_hot", "float"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot', 'float'}. "
                             f"Received: output_mode={output_mode}")
        self.dtype = dtype
        if isinstance(preprocessor, dict):
            preprocessor = deserialize_keras_object(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "preprocessor": serialize_keras_object(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config_: dict) -> "Feature":
        return cls(**config_)


class TFDIdentity(Layer):
    """The preprocessor of a plain `float` feature: passes the values through as float32."""

    _keras_location = (_MODULE, "TFDIdentity", "TFDIdentity")

    def call(self, x):
        return x


class TFDConcat(Layer):
    """The layer that joins the encoded features of a `concat` FeatureSpace along `axis`."""

    _keras_location = (_MODULE, "TFDConcat", "TFDConcat")

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, xs):
        return _tf().concat(list(xs), axis=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


_STRING_TYPES = ("float", "float_normalized", "float_rescaled", "float_discretized", "integer_categorical",
                 "string_categorical", "integer_hashed", "string_hashed")


class FeatureSpace(Layer):
    """One-stop utility for preprocessing and encoding structured data, as `keras.utils.FeatureSpace`.

    Args:
        features: dict mapping each feature name to its type: a name such as `"integer_categorical"` or a
            `FeatureSpace.integer_categorical(...)`-style spec.
        output_mode: `"concat"` (one vector per sample) or `"dict"` (the encoded features by name).
        crosses: features to cross, as tuples of names or `FeatureSpace.cross(...)`.
        crossing_dim: the default number of hashing bins of a cross.
        hashing_dim: the default number of bins of `"integer_hashed"`/`"string_hashed"` features.
        num_discretization_bins: the default number of bins of `"float_discretized"` features.
    """

    _keras_location = ("keras.utils", "FeatureSpace", None)
    runs_on_host = True

    @classmethod
    def cross(cls, feature_names, crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor, output_mode: str) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        name = name or unique_name("float")
        return Feature("float32", TFDIdentity(dtype="float32", name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale: float = 1.0, offset: float = 0.0, name: str | None = None) -> Feature:
        name = name or unique_name("float_rescaled")
        return Feature("float32", Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        name = name or unique_name("float_normalized")
        return Feature("float32", Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins: int, bin_boundaries=None, output_mode: str = "one_hot",
                          name: str | None = None) -> Feature:
        name = name or unique_name("float_discretized")
        layer = Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries, name=f"{name}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices: int = 1, output_mode: str = "one_hot",
                            name: str | None = None) -> Feature:
        name = name or unique_name("integer_categorical")
        layer = IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices: int = 1, output_mode: str = "one_hot",
                           name: str | None = None) -> Feature:
        name = name or unique_name("string_categorical")
        layer = StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or unique_name("string_hashed")
        return Feature("string", Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or unique_name("integer_hashed")
        return Feature("int32", Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    def __init__(self, features: dict, output_mode: str = "concat", crosses=None, crossing_dim: int = 32,
                 hashing_dim: int = 32, num_discretization_bins: int = 32, name: str | None = None):
        super().__init__(name=name)
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {key: self._standardize_feature(key, value) for key, value in features.items()}
        self.crosses = [self._standardize_cross(cross, set(features)) for cross in crosses or ()]
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        if output_mode not in {"dict", "concat"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'dict', 'concat'}. "
                             f"Received: output_mode={output_mode}")
        self.output_mode = output_mode
        self.inputs = {key: Input(shape=(1,), dtype=feature.dtype, name=key) for key, feature in self.features.items()}
        self.preprocessors = {key: feature.preprocessor for key, feature in self.features.items()}
        self.encoded_features = None
        self.crossers = {cross.name: HashedCrossing(cross.crossing_dim, name=cross.name) for cross in self.crosses}
        self.one_hot_encoders = {}
        self._is_adapted = False
        self.concat = None

    def _standardize_feature(self, name: str, feature) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return deserialize_keras_object(feature)
        if feature not in _STRING_TYPES:
            raise ValueError(f"Invalid feature type: {feature}")
        if feature == "float_discretized":
            return self.float_discretized(name=name, num_bins=self.num_discretization_bins)
        if feature in ("integer_hashed", "string_hashed"):
            return getattr(self, feature)(self.hashing_dim, name=name)
        return getattr(self, feature)(name=name)

    def _standardize_cross(self, cross, feature_names: set) -> Cross:
        if isinstance(cross, dict):
            cross = deserialize_keras_object(cross)
        if isinstance(cross, Cross):
            return cross
        if not self.crossing_dim:
            raise ValueError("When specifying `crosses`, the argument `crossing_dim` (dimensionality of the crossing "
                             "space) should be specified as well.")
        if any(key not in feature_names for key in cross):
            raise ValueError("All features referenced in the `crosses` argument should be present in the `features` "
                             f"dict. Received unknown features: {cross}")
        return Cross(cross, crossing_dim=self.crossing_dim)

    # --- adapting -----------------------------------------------------------------------------------------
    def _list_adaptable_preprocessors(self) -> list[str]:
        names = []
        for name in self.features:
            preprocessor = self.preprocessors[name]
            if isinstance(preprocessor, Normalization) and preprocessor.input_mean is not None:
                continue
            if isinstance(preprocessor, TextVectorization) and preprocessor._has_input_vocabulary:
                continue
            if hasattr(preprocessor, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset) -> None:
        """Learns each feature's statistics (vocabularies, mean/variance, bin boundaries) from `dataset`.

        Args:
            dataset: a tf.data.Dataset yielding dicts of feature values (no labels), or a dict of arrays.
        """
        tf = _tf()
        if not isinstance(dataset, tf.data.Dataset):
            if not isinstance(dataset, dict):
                raise ValueError("`adapt()` can only be called on a tf.data.Dataset or a dict of arrays/lists. "
                                 f"Received instead: {dataset} (of type {type(dataset)})")
            dataset = tf.data.Dataset.from_tensor_slices(dataset)
        for name in self._list_adaptable_preprocessors():
            feature_dataset = dataset.map(lambda x, name=name: x[name])
            rank = len(next(iter(feature_dataset)).shape)
            if rank == 0:
                feature_dataset = feature_dataset.batch(32)
            if rank in (0, 1):
                feature_dataset = feature_dataset.map(lambda x: tf.expand_dims(x, -1))
            self.preprocessors[name].adapt(feature_dataset)
        self._is_adapted = True
        self.get_encoded_features()
        self.built = True

    def _check_if_adapted(self) -> None:
        if not self._is_adapted:
            if self._list_adaptable_preprocessors():
                raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace before you can start using "
                                 "it.")
            self._is_adapted = True

    # --- the Functional API -------------------------------------------------------------------------------
    def get_inputs(self) -> dict:
        """The `Input` of each feature, by name: the inputs of an end-to-end model on raw feature dicts."""
        self.get_encoded_features()
        return self.inputs

    def get_encoded_features(self):
        """The encoded features as KerasTensors (one tensor in concat mode, a dict in dict mode)."""
        self._check_if_adapted()
        if self.encoded_features is None:
            self.encoded_features = self(self.inputs)
        return self.encoded_features

    def _symbolic_call(self, inputs: dict):
        """Records this FeatureSpace as a node of the Functional graph; output specs come from tracing the encoding."""
        tf = _tf()
        specs = {key: tf.TensorSpec((None, 1), f.dtype) for key, f in self.features.items()}
        try:
            encoded = tf.function(self._encode, autograph=False).get_concrete_function(specs).structured_outputs
        except tf.errors.InvalidArgumentError:
            raise ValueError(f"FeatureSpace {self.name!r} cannot join a Functional model before its preprocessors "
                             "have their vocabularies (adapt it first). A model that contains a FeatureSpace is not "
                             "reloaded from a .keras file: save the FeatureSpace and the model it feeds separately, "
                             "and rebuild the end-to-end model after loading them.") from None

        def spec(x, name):
            return KerasTensor((None,) + tuple(x.shape[1:]), x.dtype.name, name=name)

        if isinstance(encoded, dict):  # named by key: a model may take this dict as its inputs
            outputs = {key: spec(x, key) for key, x in encoded.items()}
        else:
            outputs = spec(encoded, self.name)
        node = Node(self, (inputs,), {}, outputs)
        self._inbound_nodes.append(node)
        for index, tensor in enumerate(tree.flatten(outputs)):
            tensor._history = (self, len(self._inbound_nodes) - 1, index)
        return outputs

    # --- encoding -----------------------------------------------------------------------------------------
    def __call__(self, data):
        if isinstance(data, dict) and any(isinstance(x, KerasTensor) for x in tree.flatten(data)):
            return self._symbolic_call(data)
        self._check_if_adapted()
        if not isinstance(data, dict):
            raise ValueError(f"A FeatureSpace can only be called with a dict. Received: data={data} (of type "
                             f"{type(data)})")
        if any(isinstance(x, SymbolicTensor) for x in data.values()):
            raise ValueError(f"FeatureSpace {self.name!r} runs on the host, not inside a compiled step: call it in "
                             "the tf.data pipeline (`dataset.map(feature_space)`) or on arrays.")
        tf = _tf()
        data = {key: value if _is_tf(value) else tf.convert_to_tensor(_as_array(value)) for key, value in data.items()}
        missing = sorted(set(self.features) - set(data))
        if missing:
            raise ValueError(f"FeatureSpace {self.name!r}: the data lacks feature(s) {missing}; got keys "
                             f"{sorted(data)}")
        rebatched = any(len(x.shape) == 0 for x in data.values())
        data = {name: tf.reshape(x, (1, 1)) if len(x.shape) == 0 else tf.expand_dims(x, -1) if len(x.shape) == 1
                else x for name, x in data.items()}
        eager = tf.executing_eagerly()
        merged = self._encode(data)
        if rebatched:
            merged = (tf.squeeze(merged, axis=0) if self.output_mode == "concat" else
                      {name: tf.squeeze(x, axis=0) if len(x.shape) == 2 and x.shape[0] == 1 else x
                       for name, x in merged.items()})
        return tree.map_structure(lambda x: jnp.asarray(x.numpy()), merged) if eager else merged

    def _encode(self, data: dict):
        """Preprocesses, crosses and merges a dict of batched (rank >= 2) TF tensors."""
        preprocessed = {name: _preprocess(self.preprocessors[name], data[name]) for name in self.features}
        crossed = {}
        for cross in self.crosses:
            inputs = [preprocessed[name] for name in cross.feature_names]
            crossed[cross.name] = _to_tf(self.crossers[cross.name](inputs))
            crossed[cross.name].set_shape(inputs[0].shape)  # a cross is shaped as the features it crosses
        return self._merge_features(preprocessed, crossed)

    def _cardinality(self, name: str) -> int:
        preprocessor = self.preprocessors.get(name) or self.crossers.get(name)
        if isinstance(preprocessor, (IntegerLookup, StringLookup)):
            return preprocessor.vocabulary_size()
        if isinstance(preprocessor, (CategoryEncoding,)):
            return preprocessor.num_tokens
        if isinstance(preprocessor, (Discretization, HashedCrossing, Hashing)):
            return preprocessor.num_bins
        raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. However it isn't a standard feature and the "
                         "dimensionality of its output space is not known, thus it cannot be one-hot encoded. Try "
                         "using `output_mode='int'`.")

    def _merge_features(self, preprocessed: dict, crossed: dict):
        names = sorted(preprocessed) + sorted(crossed)
        values = {**preprocessed, **crossed}
        specs = {**self.features, **self.crosses_by_name}
        encoded = {}
        for name in names:
            feature = values[name]
            if specs[name].output_mode == "one_hot":
                if not feature.dtype.is_integer:
                    raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. Thus its preprocessor should "
                                     f"return an integer dtype. Instead it returns a {feature.dtype.name} dtype.")
                if name not in self.one_hot_encoders:
                    self.one_hot_encoders[name] = CategoryEncoding(num_tokens=self._cardinality(name),
                                                                   output_mode="multi_hot")
                encoder = self.one_hot_encoders[name]
                feature = _to_tf(encoder(feature))
                if feature.shape.rank:
                    feature.set_shape(feature.shape[:-1].concatenate([encoder.num_tokens]))
            if self.output_mode == "concat" and (feature.dtype.is_integer or feature.dtype.name == "string"):
                raise ValueError(f"Cannot concatenate features because feature '{name}' has not been encoded (it has "
                                 f"dtype {feature.dtype.name}). Consider using `output_mode='dict'`.")
            encoded[name] = feature
        if self.output_mode == "dict":
            return encoded
        if self.concat is None:
            self.concat = TFDConcat(axis=-1)
        return _to_tf(self.concat([encoded[name] for name in names]))

    # --- saving -------------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"features": serialize_keras_object(self.features), "output_mode": self.output_mode,
                "crosses": serialize_keras_object(self.crosses), "crossing_dim": self.crossing_dim,
                "hashing_dim": self.hashing_dim, "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config_: dict) -> "FeatureSpace":
        return cls(**config_)

    def get_build_config(self) -> dict:
        return {name: _build_config(feature.preprocessor) for name, feature in self.features.items()}

    def build_from_config(self, config_: dict) -> None:
        for name, build_config in config_.items():
            preprocessor = self.features[name].preprocessor
            if not preprocessor.built:
                preprocessor.build_from_config(build_config)
        self._is_adapted = True
        self.built = True

    def save(self, filepath) -> None:
        """Saves the FeatureSpace to a `.keras` file, which `kgraph.models.load_model` (or Keras) reloads."""
        save_model(self, filepath)

    def save_own_variables(self, store) -> None:
        return

    def load_own_variables(self, store) -> None:
        return


def _build_config(layer) -> dict:
    """A preprocessor's `build_config` as Keras writes it: `{"input_shape": ...}` once built on a shape, else `{}`."""
    own = layer.get_build_config()
    if own is not None:
        return own
    shape = getattr(layer, "_build_input_shape", None)
    return {"input_shape": [None, *shape[1:]]} if shape is not None else {}


def _is_tf(x) -> bool:
    return any(c.__module__.startswith("tensorflow") for c in type(x).__mro__)


def _as_array(x):
    """Lists, scalars and NumPy/JAX arrays as a NumPy array TF takes (Python strings as bytes objects)."""
    array = np.asarray(x)
    return array.astype(object) if array.dtype.kind == "U" else array


def _preprocess(layer, x):
    """`layer` applied to the TF tensor `x` with TF ops: numeric layers from their weights, the rest called."""
    tf = _tf()
    if isinstance(layer, TFDIdentity):
        return x
    if isinstance(layer, Rescaling):
        x = tf.cast(x, layer.compute_dtype)
        return x * tf.constant(layer.scale, x.dtype) + tf.constant(layer.offset, x.dtype)
    if isinstance(layer, Normalization):
        x = tf.cast(x, layer.compute_dtype)
        if layer.input_mean is None:
            mean = np.reshape(np.asarray(layer.adapt_mean), layer._broadcast_shape)
            variance = np.reshape(np.asarray(layer.adapt_variance), layer._broadcast_shape)
        else:
            mean, variance = layer._fixed
        mean, variance = (np.asarray(v, layer.compute_dtype) for v in (mean, variance))
        std = np.maximum(np.sqrt(variance), np.asarray(config.epsilon(), layer.compute_dtype))
        return mean + x * std if layer.invert else (x - mean) / std
    return _to_tf(layer(x))


def _to_tf(x):
    """A layer's output as a TF tensor: kgraph's host layers give JAX arrays when called eagerly."""
    return x if _is_tf(x) else _tf().convert_to_tensor(np.asarray(x))


get_custom_objects().update({"Feature": Feature, "Cross": Cross, "FeatureSpace": FeatureSpace,
                             "TFDIdentity": TFDIdentity, "TFDConcat": TFDConcat})
