"""Every `kgraph.ops` name against Keras 3 (JAX backend): one table row per call.

Each row runs four ways on the same random inputs: kgraph eagerly on arrays, kgraph traced into the IR and lowered
to XLA under `jax.jit`, `keras.ops` itself, and ONNX Runtime on the exported graph where the ops have ONNX forms
(an op without one must refuse with a NoOnnxForm error naming it).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import keras
import numpy as np
import onnxruntime as ort
import pytest

import kgraph.ops as kops
from kgraph.ir import TensorType
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.lowering.onnx.refusal import NoOnnxForm
from kgraph.tracing import Trace

rng = np.random.default_rng(0)


def _normal(shape, dtype="float32"):
    return rng.normal(size=shape).astype(dtype)


# Named inputs. Arrays are tensors (traced as graph inputs); anything else in a row is a static argument.
F = _normal((3, 4))
G = _normal((3, 4))
F3 = _normal((2, 3, 4))
F1 = _normal((6,))
H = _normal((3, 4), "float16")
P = np.abs(_normal((3, 4))) + 0.1
UNIT = rng.uniform(-0.9, 0.9, size=(3, 4)).astype("float32")
BIG = rng.uniform(1.1, 4.0, size=(3, 4)).astype("float32")
I = rng.integers(-6, 7, size=(3, 4)).astype("int32")
J = rng.integers(1, 9, size=(3, 4)).astype("int32")
I1 = rng.integers(0, 5, size=(7,)).astype("int32")
U8 = rng.integers(0, 200, size=(3, 4)).astype("uint8")
B = rng.random((3, 4)) < 0.5
C = rng.random((3, 4)) < 0.5
SORTED = np.sort(_normal((8,)))
NAN = np.where(rng.random((3, 4)) < 0.3, np.nan, _normal((3, 4))).astype("float32")
SPECIAL = np.array([[np.nan, np.inf, -np.inf, 0.0], [-0.0, 1.0, -2.5, 3e38]], "float32")
M = _normal((4, 4))
SPD = (M @ M.T + 4 * np.eye(4)).astype("float32")
SPD3 = np.stack([SPD, SPD + np.eye(4, dtype="float32")])
RECT = _normal((5, 3))
VEC = _normal((4, 2))
LOW = np.tril(SPD)
V3 = _normal((4, 3))
W3 = _normal((4, 3))
IMG = _normal((2, 4, 6, 3))
IMGC = _normal((2, 8, 4, 4))
SEQ = _normal((2, 7, 5))
SIG = _normal((2, 64))
PROB = np.abs(_normal((3, 5))) + 0.05
PROB = (PROB / PROB.sum(-1, keepdims=True)).astype("float32")
LABELS = rng.integers(0, 5, size=(3,)).astype("int32")
ONEHOT = np.eye(5, dtype="float32")[LABELS]
SEG = np.array([0, 0, 1, 3, 3, 3], "int32")
DATA6 = _normal((6, 3))
IDX = np.array([[0, 1], [2, 3], [0, 1]], "int32")
UPD = _normal((3,))
CT = rng.integers(1, 5, size=(2, 3)).astype("int32")
CL = _normal((2, 6, 5))
TL = np.array([3, 2], "int32")
OL = np.array([6, 5], "int32")
PATCH = _normal((2, 3, 6, 5))
RGB = rng.random((2, 6, 7, 3)).astype("float32")
RGBC = rng.random((2, 3, 6, 7)).astype("float32")
AFFINE = np.array([[1.1, 0.2, -1.0, 0.1, 0.9, 0.5, 0.0, 0.0], [0.8, -0.3, 2.0, 0.2, 1.2, -1.5, 0.0, 0.0]], "float32")
VOLUME = rng.random((5, 6, 4)).astype("float32")
POINTS = (rng.random((3, 7, 2)) * 9 - 2).astype("float32")
CORNERS = np.array([[[0, 0], [6, 0], [0, 5], [6, 5]]] * 2, "float32")
VOXELS = rng.random((2, 4, 5, 6, 2)).astype("float32")
MOVED = (CORNERS + rng.normal(size=CORNERS.shape)).astype("float32")


@dataclasses.dataclass
class Case:
    """One call: `name` looked up in kgraph.ops and keras.ops (or `kgraph`/`keras` given), applied to `args`."""

    name: str
    args: tuple
    kwargs: dict
    id: str
    onnx: bool = True
    rtol: float = 1e-5
    atol: float = 1e-5
    check: Callable | None = None
    static: bool = True


def op(name: str, *args, _id: str = "", _onnx: bool = True, _rtol: float = 1e-5, _atol: float = 1e-5,
       _check=None, _static: bool = True, **kwargs) -> Case:
    """A row. `_onnx=False`: the op must refuse ONNX export; `_check`: a property instead of equality with Keras;
    `_static=False`: the result's shape depends on the data, so the row runs eagerly only."""
    return Case(name, args, kwargs, _id or name, _onnx, _rtol, _atol, _check, _static)


def _argpartition_holds(x, got, kth, axis=-1):
    """argpartition is not unique: check the partition property instead of Keras' exact indices."""
    got = np.asarray(got)
    ordered = np.take_along_axis(np.asarray(x), np.asarray(got), axis=axis)
    kth_value = np.take(ordered, [kth], axis=axis)
    before = np.take(ordered, np.arange(kth), axis=axis)
    after = np.take(ordered, np.arange(kth + 1, ordered.shape[axis]), axis=axis)
    return bool(np.all(before <= kth_value) and np.all(after >= kth_value))


CASES = [
    # creation (no tensor inputs: constants)
    op("ones", (2, 3)), op("zeros", (2, 3), dtype="int32"), op("full", (2, 2), 3.5),
    op("full", (2,), 7, _id="full_int"),
    op("eye", 3, 4, k=1), op("identity", 3), op("tri", 3, 4, k=0), op("empty", (2, 2)),
    op("arange", 5), op("arange", 1, 7, 2, _id="arange_step"), op("arange", 0.0, 1.0, 0.25, _id="arange_float"),
    op("linspace", 0.0, 1.0, 5), op("linspace", 0, 10, 4, endpoint=False, _id="linspace_open"),
    op("linspace", F1[:2], F1[2:4], 3, axis=1, _id="linspace_tensor"),
    op("logspace", 0.0, 2.0, 3), op("geomspace", 1.0, 1000.0, 4, _rtol=1e-4),
    op("bartlett", 6), op("blackman", 6), op("hamming", 6), op("hanning", 6), op("kaiser", 6, 2.0),
    op("empty_like", F), op("meshgrid", F1[:3], F1[3:]),
    op("meshgrid", F1[:3], F1[3:], indexing="ij", _id="meshgrid_ij"),
    op("copy", F), op("array", F), op("real", F), op("conj", F), op("conjugate", F), op("imag", F), op("angle", F),
    # elementwise math
    op("tan", UNIT), op("sinh", F), op("cosh", F), op("arcsin", UNIT), op("arccos", UNIT), op("arctan", F),
    op("arcsinh", F), op("arccosh", BIG), op("arctanh", UNIT), op("tan", I, _id="tan_int"),
    op("erfinv", UNIT, _onnx=False), op("erfc", F), op("i0", F, _onnx=False), op("trunc", F * 3),
    op("trunc", I, _id="trunc_int"), op("isnan", SPECIAL), op("isinf", SPECIAL), op("isfinite", SPECIAL),
    op("isneginf", SPECIAL), op("isposinf", SPECIAL), op("isnan", I, _id="isnan_int"), op("isreal", F),
    op("signbit", SPECIAL), op("signbit", I, _id="signbit_int"), op("cbrt", F), op("exp2", F), op("log2", P),
    op("log10", P), op("deg2rad", F), op("rad2deg", F), op("fabs", I), op("sinc", F), op("sinc", F * 0, _id="sinc_0"),
    op("heaviside", F, G), op("hypot", F, G), op("logaddexp", F, G), op("logaddexp2", F, G), op("arctan2", F, G),
    op("arctan2", F, G * 0, _id="arctan2_zero"), op("nextafter", F, G, _onnx=False), op("fmod", F * 5, P),
    op("fmod", I, J, _id="fmod_int"), op("gcd", I, J, _onnx=False), op("lcm", I, J, _onnx=False),
    op("ldexp", F, I), op("fmax", NAN, F), op("fmin", NAN, F), op("logical_xor", B, C),
    op("bitwise_and", I, J), op("bitwise_or", B, C), op("bitwise_xor", I, J),
    op("bitwise_not", B), op("bitwise_invert", I), op("left_shift", U8, U8 % 3),
    op("right_shift", U8, U8 % 3), op("bitwise_left_shift", I, J % 3, _onnx=False),
    op("bitwise_right_shift", I, J % 3, _onnx=False), op("nan_to_num", SPECIAL),
    op("nan_to_num", SPECIAL, nan=1.0, posinf=2.0, neginf=-2.0, _id="nan_to_num_values"),
    op("isclose", F, F + 1e-6), op("isclose", NAN, NAN, equal_nan=True, _id="isclose_nan"), op("allclose", F, F + 1e-6),
    op("tan", H, _id="tan_float16", _rtol=1e-2, _atol=1e-2),
    op("arctan2", I, F, _id="arctan2_mixed"), op("logaddexp", H, F, _id="logaddexp_mixed"),
    op("hypot", I, J, _id="hypot_int"), op("heaviside", I, J, _id="heaviside_int"), op("fmod", I, F, _id="fmod_mixed"),
    op("vdot", U8, U8, _id="vdot_uint8"), op("cbrt", H, _id="cbrt_float16", _rtol=1e-2, _atol=1e-2),
    # reductions
    op("all", B), op("all", B, axis=1, _id="all_axis"), op("any", B, axis=0, keepdims=True),
    op("any", F, _id="any_float"),
    op("count_nonzero", I), op("count_nonzero", I, axis=1, _id="count_nonzero_axis"), op("ptp", F, axis=1),
    op("average", F), op("average", F, axis=1, weights=P[0], _id="average_weights"), op("nansum", NAN),
    op("nansum", NAN, axis=1, _id="nansum_axis"), op("nanprod", NAN, axis=0), op("nanmean", NAN, axis=1),
    op("nanvar", NAN, axis=1), op("nanstd", NAN), op("nanmax", NAN, axis=1), op("nanmin", NAN),
    op("nanargmax", NAN, axis=1), op("nanargmin", NAN, axis=0), op("nancumsum", NAN, axis=1),
    op("nancumprod", NAN, axis=1, _onnx=False), op("cumprod", F, axis=1, _onnx=False),
    op("cumprod", I, _onnx=False, _id="cumprod_flat"),
    op("median", F3), op("median", F3, axis=1, _id="median_axis"),
    op("median", F, axis=1, keepdims=True, _id="median_keep"),
    op("quantile", F, 0.3), op("quantile", F3, np.array([0.1, 0.5, 0.9], "float32"), axis=-1, _id="quantile_vector"),
    op("quantile", F, 0.3, axis=0, method="lower", _id="quantile_lower"),
    op("quantile", F, 0.3, axis=0, method="higher", _id="quantile_higher"),
    op("quantile", F, 0.3, axis=0, method="midpoint", _id="quantile_midpoint"),
    op("quantile", F, 0.4, axis=1, method="nearest", _id="quantile_nearest"),
    op("percentile", F, 40.0, axis=1), op("nanmedian", NAN, axis=1), op("nanquantile", NAN, 0.25, axis=1),
    op("nanpercentile", NAN, 75.0),
    # sorting and searching
    op("sort", F), op("sort", F, axis=0, _id="sort_axis0"), op("sort", I, axis=None, _id="sort_flat"),
    op("argsort", F), op("argsort", F3, axis=1, _id="argsort_axis1"),
    op("argpartition", F, 2, _check=lambda args, got: _argpartition_holds(args[0], got, 2)),
    op("top_k", F, 2), op("top_k", I, 3, _id="top_k_int"), op("in_top_k", LABELS, PROB, 2),
    op("searchsorted", SORTED, F), op("searchsorted", SORTED, F, side="right", _id="searchsorted_right"),
    op("digitize", F, SORTED), op("bincount", I1, _static=False),
    op("bincount", I1, weights=_normal((7,)), minlength=8, _id="bincount_weights"),
    op("histogram", F1), op("histogram", F1, bins=4, range=(-1.0, 1.0), _id="histogram_range"),
    op("isin", I, J), op("isin", I, J, invert=True, _id="isin_invert"),
    # layout
    op("flip", F), op("flip", F3, axis=(0, 2), _id="flip_axes"), op("fliplr", F), op("flipud", F),
    op("rot90", F), op("rot90", F3, k=3, axes=(1, 2), _id="rot90_k3"), op("rot90", F, k=2, _id="rot90_k2"),
    op("roll", F, 2), op("roll", F3, -1, axis=1, _id="roll_axis"), op("roll", F3, (1, 2), axis=(0, 2), _id="roll_axes"),
    op("moveaxis", F3, 0, -1), op("moveaxis", F3, (0, 1), (2, 0), _id="moveaxis_many"), op("swapaxes", F3, 0, 2),
    op("ravel", F3), op("append", F, G), op("append", F, G, axis=1, _id="append_axis"),
    op("hstack", [F, G]), op("vstack", [F, G]), op("dstack", [F, G]), op("vstack", [F1, F1], _id="vstack_1d"),
    op("array_split", F1, 4), op("hsplit", F, 2), op("vsplit", F3, 2), op("dsplit", F3, [1, 3]),
    op("unstack", F3), op("unstack", F3, axis=1, _id="unstack_axis"),
    op("diagonal", F), op("diagonal", F, offset=1, _id="diagonal_offset"),
    op("diagonal", F, offset=-1, _id="diagonal_neg"),
    op("diagonal", F3, axis1=1, axis2=2, _id="diagonal_axes"), op("trace", F),
    op("trace", F3, 1, 1, 2, _id="trace_axes"),
    op("diag", F1), op("diag", F1, k=1, _id="diag_k"), op("diag", F1, k=-2, _id="diag_neg"),
    op("diag", F, _id="diag_2d"),
    op("diagflat", VEC), op("tril", F), op("triu", F3, k=1), op("tril", F, k=-1, _id="tril_neg"),
    # products
    op("tensordot", F, _normal((4, 5)), axes=1), op("tensordot", F3, _normal((3, 4, 2)), axes=2, _id="tensordot_2"),
    op("tensordot", F3, F, axes=([1, 2], [0, 1]), _id="tensordot_lists"), op("inner", F, G), op("outer", F1, F1[:4]),
    op("vdot", F, G), op("kron", F[:2, :2], G[:2, :3]), op("cross", V3, W3),
    op("cross", VEC, VEC[::-1], _id="cross_2d"),
    op("diff", F), op("diff", F3, n=2, axis=1, _id="diff_n2"), op("trapezoid", F),
    op("trapezoid", F, dx=0.5, axis=0, _id="trapezoid_dx"),
    op("trapezoid", F, x=np.cumsum(P[0]), _id="trapezoid_x"), op("vander", F1[:4]),
    op("vander", F1[:4], 3, increasing=True, _id="vander_inc"),
    op("correlate", F1, F1[:3]), op("correlate", F1, F1[:3], mode="same", _id="correlate_same"),
    op("correlate", F1, F1[:3], mode="full", _id="correlate_full"), op("corrcoef", F),
    op("cdist", RECT, _normal((4, 3))),
    op("select", [F > 0, G > 0], [F, G]), op("select", [F > 0.5], [F], default=-1.0, _id="select_default"),
    op("unravel_index", I1, (2, 3)), op("saturate_cast", F * 300, "uint8"),
    op("saturate_cast", I * 40, "int8", _id="saturate_cast_int"),
    # nn
    op("elu", F), op("elu", F, alpha=0.5, _id="elu_alpha"), op("selu", F), op("celu", F),
    op("celu", F, alpha=2.0, _id="celu_alpha"),
    op("leaky_relu", F), op("leaky_relu", F, negative_slope=0.1, _id="leaky_relu_slope"), op("hard_sigmoid", F * 4),
    op("hard_silu", F * 4), op("hard_swish", F * 4), op("hard_tanh", F * 2), op("hard_shrink", F), op("soft_shrink", F),
    op("tanh_shrink", F), op("threshold", F, 0.1, -1.0), op("log_sigmoid", F * 10), op("glu", F),
    op("glu", _normal((2, 4, 3)), axis=1, _id="glu_axis"),
    op("sparse_plus", F * 2), op("sparse_sigmoid", F * 2), op("squareplus", F),
    op("squareplus", F, b=1, _id="squareplus_b"),
    op("sparsemax", F), op("sparsemax", F, axis=0, _id="sparsemax_axis0"),
    op("binary_crossentropy", (F > 0).astype("float32"), np.clip(np.abs(G), 0.01, 0.99)),
    op("binary_crossentropy", (F > 0).astype("float32"), G, from_logits=True, _id="binary_crossentropy_logits"),
    op("categorical_crossentropy", ONEHOT, PROB),
    op("categorical_crossentropy", ONEHOT, _normal((3, 5)), from_logits=True, _id="categorical_crossentropy_logits"),
    op("sparse_categorical_crossentropy", LABELS, PROB),
    op("sparse_categorical_crossentropy", LABELS, _normal((3, 5)), from_logits=True,
       _id="sparse_categorical_crossentropy_logits"),
    op("multi_hot", IDX, 5), op("psnr", F, G, 1.0), op("rms_normalization", F),
    op("rms_normalization", F3, scale=F[0], _id="rms_normalization_scale"),
    op("depth_to_space", _normal((2, 3, 2, 8)), 2),
    op("space_to_depth", IMG[:, :, :4], 2),
    op("depth_to_space", IMGC, 2, data_format="channels_first", _id="depth_to_space_cf"),
    op("space_to_depth", IMGC, 2, data_format="channels_first", _id="space_to_depth_cf"),
    op("adaptive_average_pool", IMG, (3, 4)), op("adaptive_max_pool", IMG, 2),
    op("adaptive_average_pool", SEQ, 3, _id="adaptive_average_pool_1d"),
    op("adaptive_max_pool", IMGC, (3, 3), data_format="channels_first", _id="adaptive_max_pool_cf"),
    op("unfold", PATCH, 2), op("unfold", PATCH, (2, 3), dilation=1, padding=1, stride=2, _id="unfold_strided"),
    op("fold", _normal((2, 12, 12)), (5, 4), 2),
    op("fold", _normal((2, 12, 9)), (5, 4), 2, padding=1, stride=2, _id="fold_strided"),
    op("ctc_loss", CT, CL, TL, OL, _onnx=False, _rtol=1e-4), op("ctc_decode", CL, OL),
    # linalg
    op("cholesky", SPD, _onnx=False), op("cholesky", SPD3, upper=True, _id="cholesky_upper", _onnx=False),
    op("cholesky_inverse", LOW / 3, _onnx=False, _rtol=1e-4), op("det", SPD3, _rtol=1e-4),
    op("slogdet", SPD, _onnx=False),
    op("logdet", SPD3, _onnx=False), op("inv", SPD, _onnx=False, _rtol=1e-4),
    op("solve", SPD, VEC, _onnx=False, _rtol=1e-4),
    op("solve_triangular", LOW, VEC, lower=True, _onnx=False, _rtol=1e-4),
    op("lstsq", RECT, _normal((5, 2)), _onnx=False, _rtol=1e-4),
    op("qr", RECT, _onnx=False, _check=lambda args, got: np.allclose(got[0] @ got[1], args[0], atol=1e-5)),
    op("svd", RECT, compute_uv=False, _onnx=False, _rtol=1e-4),
    op("svd", RECT, full_matrices=False, _id="svd_uv", _onnx=False,
       _check=lambda args, got: np.allclose((got[0] * got[1]) @ got[2], args[0], atol=1e-4)),
    op("eigh", SPD, _onnx=False, _check=lambda args, got: np.allclose(
        args[0] @ got[1], got[1] * got[0], atol=1e-3)),
    op("lu_factor", SPD, _onnx=False, _rtol=1e-4), op("pinv", RECT, _onnx=False, _rtol=1e-4),
    op("matrix_rank", RECT, _onnx=False),
    op("norm", F), op("norm", F, ord=1, axis=1, _id="norm_l1"), op("norm", F, ord=np.inf, axis=0, _id="norm_inf"),
    op("norm", F1, ord=3, _id="norm_p3"), op("norm", F, ord="fro", axis=(0, 1), _id="norm_fro"),
    op("norm", F, ord=1, axis=(0, 1), _id="norm_matrix_1"),
    op("norm", F, ord=2, axis=(0, 1), _onnx=False, _id="norm_matrix_2", _rtol=1e-4),
    op("norm", F3, ord="nuc", axis=(1, 2), _onnx=False, _id="norm_nuc", _rtol=1e-4),
    # math
    op("fft", (F, G), _onnx=False, _rtol=1e-4), op("fft2", (F, G), _onnx=False, _rtol=1e-4),
    op("ifft2", (F, G), _onnx=False, _rtol=1e-4), op("rfft", SIG, _rtol=1e-4, _atol=1e-4),
    op("rfft", SIG, 16, _id="rfft_length", _rtol=1e-4, _atol=1e-4),
    op("irfft", (F, G), _onnx=False, _rtol=1e-4), op("irfft", (F, G), 8, _id="irfft_length", _onnx=False, _rtol=1e-4),
    op("extract_sequences", SIG, 16, 8), op("stft", SIG, 16, 8, 16, _rtol=1e-4, _atol=1e-4),
    op("stft", SIG, 10, 4, 16, window="hamming", center=False, _id="stft_hamming", _rtol=1e-4, _atol=1e-4),
    op("istft", (_normal((2, 9, 9)), _normal((2, 9, 9))), 16, 8, 16, _onnx=False, _rtol=1e-4, _atol=1e-4),
    op("segment_sum", DATA6, SEG, 5), op("segment_max", DATA6, SEG, 5), op("segment_min", DATA6, SEG, 4),
    op("segment_prod", DATA6, SEG, 4),
    op("scatter", IDX[:, :2], UPD, (3, 4)), op("scatter_update", F, IDX, UPD),
    op("scatter_update", F, IDX, UPD, reduction="add", _id="scatter_update_add"),
    op("slice_update", F, (1, 1), G[:2, :2]),
    # image
    op("image.rgb_to_grayscale", RGB), op("image.rgb_to_hsv", RGB), op("image.hsv_to_rgb", RGB),
    op("image.rgb_to_hsv", RGBC, data_format="channels_first", _id="image.rgb_to_hsv_cf"),
    op("image.pad_images", RGB, 1, 2, None, None, 9, 10), op("image.pad_images", RGB[0], 0, 1, 2, 3, _id="image.pad_single"),
    op("image.extract_patches", RGB, 2), op("image.extract_patches", RGB, (2, 3), strides=1, padding="same",
                                            _id="image.extract_patches_same"),
    op("image.extract_patches", RGBC, 3, strides=2, data_format="channels_first", _id="image.extract_patches_cf"),
    op("image.gaussian_blur", RGB, data_format="channels_last"), op("image.gaussian_blur", RGBC, (3, 5), (0.8, 1.5), data_format="channels_first",
                                       _id="image.gaussian_blur_cf"),
    *[op("image.affine_transform", RGB, AFFINE, interpolation, mode, 0.5, _id=f"image.affine_{interpolation}_{mode}")
      for interpolation in ("nearest", "bilinear") for mode in ("constant", "nearest", "wrap", "mirror", "reflect")],
    op("image.affine_transform", RGBC, AFFINE, data_format="channels_first", _id="image.affine_cf"),
    *[op("image.map_coordinates", VOLUME, POINTS, order, mode, 1.5, _id=f"image.map_coordinates_{order}_{mode}")
      for order in (0, 1) for mode in ("constant", "nearest", "wrap", "mirror", "reflect")],
    op("image.extract_patches_3d", VOXELS, 2),
    op("image.extract_patches_3d", VOXELS[0], (2, 3, 2), strides=1, padding="same",
       _id="image.extract_patches_3d_same"),
    op("image.extract_patches_3d", VOXELS.transpose(0, 4, 1, 2, 3), (1, 2, 3), (2, 1, 2), data_format="channels_first",
       _id="image.extract_patches_3d_cf"),
    op("image.scale_and_translate", RGB, (2, 9, 5, 3), (1.5, 0.7), (0.5, -1.0), (1, 2), "bilinear"),
    op("image.scale_and_translate", RGB, (2, 4, 10, 3), (0.6, 1.4), (0.0, 2.0), (1, 2), "lanczos3", antialias=False,
       _id="image.scale_and_translate_lanczos"),
    op("image.sobel_edges", RGB), op("image.sobel_edges", RGBC, data_format="channels_first", _id="image.sobel_cf"),
    op("image.ssim", RGB, np.clip(RGB[::-1] * 0.3 + RGB * 0.7, 0, 1), filter_size=3),
    op("image.ssim", RGBC[0], RGBC[1], 2.0, 5, 1.0, data_format="channels_first", _id="image.ssim_single_cf"),
    op("image.perspective_transform", RGB, CORNERS, MOVED, fill_value=0.25, _onnx=False),
    op("image.perspective_transform", RGBC, CORNERS, MOVED, "nearest", data_format="channels_first", _onnx=False,
       _id="image.perspective_nearest_cf"),
]
SAMPLE_EVERY = 5
"""Eager calls and kgraph ops on tracers compile op by op or per row, so every 5th row runs them (and every row
without tensor inputs); the IR path and Keras run for all rows, each in one jit."""
SAMPLED = {c.id for i, c in enumerate(CASES) if i % SAMPLE_EVERY == 0}


def _resolve(name: str):
    """The kgraph and Keras functions of a row: "tan" or a namespaced "image.rgb_to_hsv"."""
    kgraph_fn, keras_fn = kops, keras.ops
    for part in name.split("."):
        kgraph_fn, keras_fn = getattr(kgraph_fn, part), getattr(keras_fn, part)
    return kgraph_fn, keras_fn


def _is_tensor(value) -> bool:
    return isinstance(value, np.ndarray)


def _flatten(out) -> list:
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(out)]


def _compare(case: Case, got, expected, label: str):
    got, expected = _flatten(got), _flatten(expected)
    assert len(got) == len(expected), f"{label}: {len(got)} outputs, expected {len(expected)}"
    for g, e in zip(got, expected):
        assert g.shape == e.shape, f"{label}: shape {g.shape}, expected {e.shape}"
        assert g.dtype == e.dtype, f"{label}: dtype {g.dtype}, expected {e.dtype}"
        if e.dtype == bool or np.issubdtype(e.dtype, np.integer):
            np.testing.assert_array_equal(g, e, err_msg=label)
        else:
            np.testing.assert_allclose(g.astype("float64"), e.astype("float64"), rtol=case.rtol, atol=case.atol,
                                       err_msg=label, equal_nan=True)


def _tensor_slots(case: Case) -> list[tuple[int, int | None]]:
    """The positions of tensor arguments, including inside a tuple/list argument (one level); none for a row that
    runs eagerly only."""
    slots = []
    if not case.static:
        return slots
    for i, arg in enumerate(case.args):
        if _is_tensor(arg):
            slots.append((i, None))
        elif isinstance(arg, (tuple, list)) and arg and all(_is_tensor(a) for a in arg):
            slots.extend((i, j) for j in range(len(arg)))
    return slots


def _tensors(case: Case) -> list[np.ndarray]:
    return [case.args[i] if j is None else case.args[i][j] for i, j in _tensor_slots(case)]


def _call(case: Case, fn, values):
    """fn applied to the case's arguments with its tensors replaced by `values`."""
    args = [list(a) if isinstance(a, (tuple, list)) else a for a in case.args]
    for (i, j), v in zip(_tensor_slots(case), values):
        if j is None:
            args[i] = v
        else:
            args[i][j] = v
    args = [type(orig)(a) if isinstance(orig, (tuple, list)) else a for a, orig in zip(args, case.args)]
    return fn(*args, **case.kwargs)


def _trace(case: Case):
    """The case recorded into an IR graph whose inputs are its tensors."""
    with Trace(case.id) as t:
        symbols = [t.input(TensorType(str(a.dtype), a.shape), f"in{k}") for k, a in enumerate(_tensors(case))]
        out = _call(case, _resolve(case.name)[0], symbols)
        leaves = [x if hasattr(x, "ir_value") else t.constant(np.asarray(x)) for x in jax.tree_util.tree_leaves(out)]
        t.graph.outputs = [x.ir_value for x in leaves]
    t.graph.verify()
    return t.graph


def _jit_all(fns: dict, inputs: dict) -> dict:
    """Runs each fn on its inputs inside ONE jax.jit (one XLA compile for the whole table); a fn that raises while
    tracing is reported as its exception instead of an output."""
    errors = {}

    def run_all(all_inputs):
        outputs = {}
        for key, fn in fns.items():
            try:
                outputs[key] = fn(*all_inputs[key])
            except Exception as error:  # noqa: BLE001 - reported per case
                errors[key] = error
        return outputs

    results = jax.jit(run_all)(inputs)
    return {**results, **errors}


@pytest.fixture(scope="module")
def results():
    """All four runs of every row, computed once."""
    traced, graphs = {}, {}
    for case in CASES:
        if not _tensor_slots(case):
            continue
        try:
            graphs[case.id] = _trace(case)
        except Exception as error:  # noqa: BLE001 - reported per case
            traced[case.id] = error
    inputs = {c.id: _tensors(c) for c in CASES if _tensor_slots(c)}
    kgraph_fns = {c.id: (lambda *xs, c=c: _call(c, _resolve(c.name)[0], xs)) for c in CASES
                  if c.id in inputs and c.id in SAMPLED}
    keras_fns = {c.id: (lambda *xs, c=c: _call(c, _resolve(c.name)[1], xs)) for c in CASES if c.id in inputs}
    graph_fns = {key: (lambda *xs, g=g: lower_to_jax(g)({}, list(xs))[0]) for key, g in graphs.items()}
    in_step = _jit_all(kgraph_fns, {k: inputs[k] for k in kgraph_fns})
    in_keras = _jit_all(keras_fns, inputs)
    traced.update(_jit_all(graph_fns, {k: inputs[k] for k in graph_fns}))
    for case in CASES:
        if case.id not in in_keras or isinstance(in_keras[case.id], Exception):
            in_keras[case.id] = _resolve(case.name)[1](*case.args, **case.kwargs)
    return {"step": in_step, "keras": in_keras, "traced": traced, "graphs": graphs}


def test_row_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_op_matches_keras(case: Case, results):
    expected = results["keras"][case.id]
    runs = {}
    if not _tensor_slots(case) or case.id in SAMPLED:
        runs["eager"] = _resolve(case.name)[0](*case.args, **case.kwargs)
    if case.id in results["step"]:
        runs["inside jax.jit"] = results["step"][case.id]
    if _tensor_slots(case):
        runs["traced to IR, lowered to XLA"] = results["traced"][case.id]
    for label, got in runs.items():
        if isinstance(got, Exception):
            raise got
        if case.check is not None:
            values = _flatten(got)
            value = values[0] if len(values) == 1 else values
            assert case.check(case.args, value), f"{case.id} {label}: the result fails its property check"
        else:
            _compare(case, got, expected, f"{case.id} {label} vs keras")


@pytest.mark.parametrize("case", [c for c in CASES if _tensor_slots(c)], ids=[c.id for c in CASES if _tensor_slots(c)])
def test_onnx_runtime_matches_xla(case: Case, results):
    graph = results["graphs"].get(case.id)
    if graph is None:
        raise results["traced"][case.id]
    try:
        model = lower_to_onnx(graph, {}, opset=18)
    except NoOnnxForm as error:
        assert not case.onnx, f"{case.id}: expected an ONNX form, got {error}"
        assert "opset 18" in str(error)
        return
    assert case.onnx, f"{case.id}: exported to ONNX but the row says it has no ONNX form"
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {f"in{k}": a for k, a in enumerate(_tensors(case))})
    _compare(case, got, results["traced"][case.id], f"{case.id} onnxruntime vs xla")


NEW_FAMILIES = ("math_extra", "sorting", "linalg_extra", "signal", "scatter", "ctc")


def test_every_op_of_the_new_families_has_a_row(results):
    from kgraph.ir import all_ops

    covered = {node.op for graph in results["graphs"].values() for node in graph.nodes}
    declared = {name for name, op in all_ops().items() if op.family in NEW_FAMILIES}
    assert declared <= covered, sorted(declared - covered)


def test_every_keras_ops_name_exists():
    names = [n for n in dir(keras.ops) if not n.startswith("_")]
    assert [n for n in names if not hasattr(kops, n)] == []


def _functional(build):
    import kgraph

    inputs = kgraph.Input((3, 4))
    return kgraph.Model(inputs, build(inputs))


def test_ops_on_keras_tensors_build_a_functional_model_that_predicts_and_exports(tmp_path):
    def build(x):
        ranked = kops.sort(kops.tan(kops.clip(x, -1.0, 1.0)), axis=-1)
        values, _ = kops.top_k(ranked, 2)
        rolled = kops.roll(kops.tril(x), 1, axis=-1)
        return kops.concatenate([values, kops.sum(kops.elu(rolled), axis=-1, keepdims=True),
                                 kops.logaddexp(values, kops.hard_sigmoid(values))], axis=-1)

    model = _functional(build)
    x = F3[:, :3]
    expected = keras.ops.concatenate([
        keras.ops.top_k(keras.ops.sort(keras.ops.tan(keras.ops.clip(x, -1.0, 1.0)), axis=-1), 2)[0],
        keras.ops.sum(keras.ops.elu(keras.ops.roll(keras.ops.tril(x), 1, axis=-1)), axis=-1, keepdims=True),
        keras.ops.logaddexp(*(lambda v: (v, keras.ops.hard_sigmoid(v)))(
            keras.ops.top_k(keras.ops.sort(keras.ops.tan(keras.ops.clip(x, -1.0, 1.0)), axis=-1), 2)[0])),
    ], axis=-1)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    path = tmp_path / "ops.onnx"
    model.export(str(path), format="onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_export_of_an_op_without_onnx_form_names_op_layer_and_opset(tmp_path):
    model = _functional(lambda x: kops.svd(x, compute_uv=False))
    with pytest.raises(NotImplementedError) as error:
        model.export(str(tmp_path / "svd.onnx"), format="onnx", opset=17)
    message = str(error.value)
    assert "'svd'" in message and "opset 17" in message and "layer" in message
    assert not (tmp_path / "svd.onnx").exists()


def test_bitwise_ops_refuse_before_opset_18_and_export_from_it():
    graph = _trace(op("bitwise_and", I, J))
    with pytest.raises(NoOnnxForm, match="opset 17"):
        lower_to_onnx(graph, {}, opset=17)
    lower_to_onnx(graph, {}, opset=18)


@pytest.mark.parametrize("call,match", [
    (lambda: kops.cast(F, "complex64"), "Unsupported dtype 'complex64'"),
    (lambda: kops.ones((2,), dtype="float8"), "Unsupported dtype 'float8'"),
    (lambda: kops.tan(np.array(["a", "b"])), "string value"),
    (lambda: kops.add(np.array(["a"]), 1), "string value"),
    (lambda: kops.sort(["b", "a"]), "string value"),
    (lambda: kops.gcd(F, G), "integer"),
    (lambda: kops.eig(F), "complex"),
], ids=["unknown_dtype", "unknown_creation_dtype", "string_unary", "string_binary", "string_list", "float_gcd", "eig"])
def test_bad_input_is_a_clear_type_error(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_data_dependent_shapes_refuse_symbolic_tensors():
    with Trace("t") as t:
        x = t.input(TensorType("int32", (4,)), "x")
        with pytest.raises(ValueError, match="depends on the data"):
            kops.unique(x)
        with pytest.raises(ValueError, match="minlength"):
            kops.bincount(x)
