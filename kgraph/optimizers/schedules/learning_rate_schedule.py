"""Learning rate schedules: the learning rate as a function of the optimizer's step, in `jnp`.

A schedule is evaluated inside the compiled training step from the optimizer's `iterations`
counter, so the rate changes every step without recompiling or a round trip to Python. The
arithmetic follows Keras 3 operation by operation, in float32, so the values match Keras'.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np


class LearningRateSchedule:
    """Base class: subclasses implement `__call__(step)` (with `jnp`) and `get_config()`.

    `from_config(get_config())` recreates the schedule, and a config also loads into the Keras class
    of the same name (and a Keras config into this one).
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in order to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_decay_steps(name: str, value) -> None:
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


def _float32(value):
    return jnp.asarray(value, jnp.float32)


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Steps over which the rate is multiplied by `decay_rate` once. Must be > 0.
        decay_rate: The decay factor.
        staircase: If `True`, `step / decay_steps` is floored, so the rate drops in steps.
        name: Kept in the config, as in Keras.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        _check_decay_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _float32(step) / _float32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _float32(self.initial_learning_rate) * jnp.power(_float32(self.decay_rate), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` up to `boundaries[0]` (inclusive), `values[1]` up to `boundaries[1]`, …, then `values[-1]`.

    Args:
        boundaries: Increasing step numbers; compared in the step's dtype, as Keras does.
        values: One more rate than there are boundaries.
        name: Kept in the config, as in Keras.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = jnp.asarray(step)
        boundaries = [jnp.asarray(b).astype(step.dtype) for b in self.boundaries]
        values = [jnp.asarray(v) for v in self.values]
        dtype = values[0].dtype
        result = (step <= boundaries[0]).astype(dtype) * values[0]
        result = result + (step > boundaries[-1]).astype(dtype) * values[-1]
        for low, high, value in zip(boundaries[:-1], boundaries[1:], values[1:-1]):
            result = result + ((step > low) & (step <= high)).astype(dtype) * value
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From `initial_learning_rate` to `end_learning_rate` along `(1 - step / decay_steps) ** power`.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Steps to reach `end_learning_rate`. Must be > 0.
        end_learning_rate: The rate from `decay_steps` on.
        power: The polynomial's power (1.0 is linear).
        cycle: If `True`, the decay restarts over the next multiple of `decay_steps` instead of stopping.
        name: Kept in the config, as in Keras.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _check_decay_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        initial = _float32(self.initial_learning_rate)
        end = _float32(self.end_learning_rate)
        step = _float32(step)
        decay_steps = _float32(self.decay_steps)
        if self.cycle:
            multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = jnp.minimum(step, decay_steps)
        # XLA may round step / decay_steps at step == decay_steps to just above 1; Keras then gets
        # (tiny negative) ** power = NaN under jit. Clamping keeps the exact value everywhere else.
        remaining = jnp.maximum(1 - step / decay_steps, 0.0)
        return (initial - end) * jnp.power(remaining, _float32(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: The step unit of the decay. Must be > 0.
        decay_rate: How fast the rate falls.
        staircase: If `True`, `step / decay_steps` is floored.
        name: Kept in the config, as in Keras.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        _check_decay_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _float32(step) / _float32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _float32(self.initial_learning_rate) / (_float32(1) + _float32(self.decay_rate) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from `initial_learning_rate` to `alpha * initial_learning_rate`, with an optional warmup.

    With `warmup_target`, the rate first rises linearly from `initial_learning_rate` to `warmup_target`
    over `warmup_steps`, then decays from `warmup_target` over `decay_steps`.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Steps of the cosine decay. Must be > 0.
        alpha: The final rate as a fraction of the rate decayed from.
        name: Kept in the config, as in Keras.
        warmup_target: The rate reached at the end of the warmup; `None` for no warmup.
        warmup_steps: Length of the warmup.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _check_decay_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step, decay_steps, decay_from):
        fraction = step / decay_steps
        cosine = 0.5 * (1.0 + jnp.cos(jnp.asarray(math.pi, jnp.float32) * fraction))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        initial = _float32(self.initial_learning_rate)
        decay_steps = _float32(self.decay_steps)
        step = _float32(step)
        if self.warmup_target is None:
            return self._decay(jnp.minimum(step, decay_steps), decay_steps, initial)
        target = _float32(self.warmup_target)
        warmup_steps = _float32(self.warmup_steps)
        step = jnp.minimum(step, decay_steps + warmup_steps)
        warmup = (target - initial) * (step / warmup_steps) + initial
        return jnp.where(step < warmup_steps, warmup, self._decay(step - warmup_steps, decay_steps, target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): each period is `t_mul` times longer and `m_mul` times lower.

    Args:
        initial_learning_rate: The rate at step 0.
        first_decay_steps: Length of the first period. Must be > 0.
        t_mul: Factor on the length of each next period.
        m_mul: Factor on the starting rate of each next period.
        alpha: The lowest rate as a fraction of `initial_learning_rate`.
        name: Kept in the config, as in Keras.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        _check_decay_steps("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        initial = _float32(self.initial_learning_rate)
        alpha = _float32(self.alpha)
        t_mul = _float32(self._t_mul)
        fraction = _float32(step) / _float32(self.first_decay_steps)
        if np.float32(self._t_mul) == 1.0:
            restart = jnp.floor(fraction)
            fraction = fraction - restart
        else:
            restart = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            done = (1.0 - jnp.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / jnp.power(t_mul, restart)
        cosine = 0.5 * jnp.power(_float32(self._m_mul), restart) * (
            1.0 + jnp.cos(jnp.asarray(math.pi, jnp.float32) * fraction))
        return initial * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


BUILTIN_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                                   InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict[str, Any]:
    """The schedule as Keras' `serialize_keras_object` writes it: module, class name, config."""
    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise TypeError(f"Expected a LearningRateSchedule. Received: {learning_rate_schedule!r} "
                        f"of type {type(learning_rate_schedule).__name__}")
    cls = type(learning_rate_schedule)
    builtin = BUILTIN_SCHEDULES.get(cls.__name__) is cls
    return {
        "module": "keras.optimizers.schedules" if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": learning_rate_schedule.get_config(),
        "registered_name": None if builtin else cls.__name__,
    }


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> LearningRateSchedule:
    """A schedule from `serialize`'s output (ours or Keras'); `custom_objects` maps names to your own classes."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"A learning rate schedule config needs a string 'class_name'. Received: {config!r}")
    name = config["class_name"]
    known = {**BUILTIN_SCHEDULES, **(custom_objects or {})}
    cls = known.get(config.get("registered_name") or name) or known.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {name!r}. Expected one of {sorted(BUILTIN_SCHEDULES)} "
                         "or a class passed in `custom_objects`.")
    return cls.from_config(dict(config.get("config") or {}))
