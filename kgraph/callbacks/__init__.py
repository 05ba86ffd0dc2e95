"""`kgraph.callbacks`: hooks into fit/evaluate/predict (the callbacks issue adds the remaining built-ins)."""

from kgraph.callbacks.callback import Callback
from kgraph.callbacks.callback_list import CallbackList
from kgraph.callbacks.history import History
from kgraph.callbacks.progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]
