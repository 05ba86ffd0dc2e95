"""What `compile()` turns loss/metrics/loss_weights into: per-output losses and metrics over flat outputs."""

from __future__ import annotations

from kgraph import losses as losses_module
from kgraph import metrics as metrics_module
from kgraph import ops
from kgraph.models import input_checks
from kgraph import tree


def _per_output(spec, output_names: list[str], what: str) -> list:
    """Spreads a compile() argument over the outputs: one object for all, a list by position, a dict by name.

    For `metrics`, a flat list applies to every output; only a list of lists (one per output) goes by position.
    """
    n = len(output_names)
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(output_names))
        if unknown:
            raise ValueError(f"`{what}` names unknown output(s) {unknown}; the model's outputs are {output_names}")
        return [spec.get(name) for name in output_names]
    if not isinstance(spec, (list, tuple)):
        return [spec] * n
    if what == "metrics":
        by_position = n > 1 and len(spec) == n and all(s is None or isinstance(s, (list, tuple)) for s in spec)
        return list(spec) if by_position else [spec] * n
    if len(spec) != n:
        raise ValueError(f"`{what}` has {len(spec)} entries but the model has {n} output(s) {output_names}")
    return list(spec)


def _accuracy(name: str, target_shape, output_shape):
    """Keras' "accuracy"/"acc": binary for one output unit, sparse when targets are indices, else categorical."""
    out_last = output_shape[-1] if output_shape else None
    if out_last == 1:
        return metrics_module.BinaryAccuracy(name=name)
    if target_shape is None:
        sparse = True
    else:
        sparse = len(target_shape) < len(output_shape) or (target_shape[-1] == 1 and (out_last or 2) > 1)
    return metrics_module.SparseCategoricalAccuracy(name=name) if sparse else metrics_module.CategoricalAccuracy(name=name)


def _as_loss(identifier) -> losses_module.Loss:
    """A Loss object; plain `fn(y_true, y_pred)` functions are wrapped so they take sample weights."""
    loss = losses_module.get(identifier)
    if isinstance(loss, losses_module.Loss):
        return loss
    return losses_module.LossFunctionWrapper(loss, name=getattr(loss, "__name__", "loss"))


def match_target_rank(y_true, y_pred):
    """Keras 2's rule, kept because the Keras FAQ relies on it: rank-1 targets against rank-2 predictions get a
    trailing axis, so `y` of shape (n,) trains `Dense(k)` by broadcasting instead of failing."""
    if y_true is not None and len(ops.shape(y_true)) == 1 and len(ops.shape(y_pred)) == 2:
        return ops.expand_dims(y_true, -1)
    return y_true


class CompileLoss:
    """The total training loss: Σ loss_weight_i · loss_i(y_i, y_pred_i, sample_weight_i) over outputs with a loss."""

    def __init__(self, loss, loss_weights, output_names: list[str]):
        self.output_names = output_names
        specs = _per_output(loss, output_names, "loss")
        self.losses = [None if s is None else _as_loss(s) for s in specs]
        if loss_weights is None:
            self.weights = [1.0] * len(output_names)
        else:
            weights = _per_output(loss_weights, output_names, "loss_weights")
            self.weights = [1.0 if w is None else float(w) for w in weights]
        self.multi = len(output_names) > 1
        self.trackers = [metrics_module.Mean(name=f"{name}_loss") if self.multi and l is not None else None
                         for name, l in zip(output_names, self.losses)]

    @property
    def has_loss(self) -> bool:
        return any(l is not None for l in self.losses)

    def __call__(self, y_true: list, y_pred: list, sample_weight: list):
        """Returns (total, per-output values) for flat lists aligned with the outputs."""
        if self.has_loss and all(yt is None for yt in y_true):
            name = next(n for n, l in zip(self.output_names, self.losses) if l is not None)
            raise ValueError(f"The compiled loss of output {name!r} needs targets, but no `y` was given. Pass `y` "
                             "(or a dataset that yields (x, y)), or compile without `loss` when the model adds its "
                             "own loss with `add_loss`.")
        total, parts = 0.0, []
        for name, loss, weight, yt, yp, sw in zip(self.output_names, self.losses, self.weights, y_true, y_pred,
                                                  sample_weight):
            if loss is None or yt is None:
                parts.append(None)
                continue
            try:
                value = loss(match_target_rank(yt, yp), yp, sample_weight=sw)
            except (TypeError, ValueError) as e:
                error = input_checks.loss_shape_error(name, loss, yt, yp, sw, e)
                if error is None:
                    raise
                raise error from e
            parts.append(value)
            total = ops.add(total, ops.multiply(weight, value))
        return total, parts


class CompileMetrics:
    """Per-output metric objects, named as Keras logs them (prefixed by the output name when there are several)."""

    def __init__(self, metrics, weighted_metrics, output_names: list[str], target_shapes: list, output_shapes: list):
        self.output_names = output_names
        self.entries: list[tuple[int, object, bool]] = []
        for spec, weighted in ((metrics, False), (weighted_metrics, True)):
            if spec is None:
                continue
            if not isinstance(spec, (list, tuple, dict)):
                raise TypeError(f"`{'weighted_metrics' if weighted else 'metrics'}` must be a list or a dict, got {type(spec).__name__}")
            per_output = _per_output(spec, output_names, "metrics")
            for i, items in enumerate(per_output):
                for item in tree.flatten(items if isinstance(items, (list, tuple)) else [items]):
                    if item is None:
                        continue
                    self.entries.append((i, self._build(item, target_shapes[i], output_shapes[i]), weighted))
        self.log_names = self._log_names()

    def _log_names(self) -> list[str]:
        """Keras' log keys: `<output>_<metric>` with several outputs; repeats get `_1`, `_2`, or `weighted_`."""
        seen: dict[str, int] = {}
        names = []
        prefix = (lambda i: f"{self.output_names[i]}_") if len(self.output_names) > 1 else (lambda i: "")
        for i, metric, weighted in self.entries:
            name = prefix(i) + metric.name
            if name in seen and weighted:
                name = prefix(i) + "weighted_" + metric.name
            if name in seen:
                seen[name] += 1
                name = f"{name}_{seen[name] - 1}"
            else:
                seen[name] = 1
            names.append(name)
        return names

    @staticmethod
    def _build(item, target_shape, output_shape):
        """A Metric object; one named by a string logs under that string, as in Keras."""
        if isinstance(item, str) and item.lower() in ("accuracy", "acc"):
            return _accuracy(item, target_shape, output_shape)
        metric = metrics_module.get(item)
        if not isinstance(metric, metrics_module.Metric):
            metric = metrics_module.MeanMetricWrapper(metric, name=getattr(metric, "__name__", "metric"))
        if isinstance(item, str):
            metric.name = item
        if hasattr(metric, "build_for_output_shape") and not metric._built and output_shape:
            metric.build_for_output_shape(tuple(output_shape))
        return metric

    @property
    def metrics(self) -> list:
        return [m for _, m, _ in self.entries]
