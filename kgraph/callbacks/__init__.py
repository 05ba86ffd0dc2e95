"""`kgraph.callbacks`: hooks into fit/evaluate/predict (the callbacks issue adds the remaining built-ins)."""

from kgraph.callbacks.callback import Callback
from kgraph.callbacks.callback_list import CallbackList
from kgraph.callbacks.history import History
from kgraph.callbacks.progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]

from kgraph.callbacks.backup_and_restore import BackupAndRestore
from kgraph.callbacks.csv_logger import CSVLogger
from kgraph.callbacks.early_stopping import EarlyStopping
from kgraph.callbacks.lambda_callback import LambdaCallback
from kgraph.callbacks.learning_rate_scheduler import LearningRateScheduler
from kgraph.callbacks.model_checkpoint import ModelCheckpoint
from kgraph.callbacks.monitor_callback import MonitorCallback
from kgraph.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from kgraph.callbacks.remote_monitor import RemoteMonitor
from kgraph.callbacks.swap_ema_weights import SwapEMAWeights
from kgraph.callbacks.tensorboard import TensorBoard
from kgraph.callbacks.terminate_on_nan import TerminateOnNaN
from kgraph.callbacks import experimental

__all__ += ["BackupAndRestore", "CSVLogger", "EarlyStopping", "LambdaCallback", "LearningRateScheduler",
            "ModelCheckpoint", "MonitorCallback", "ReduceLROnPlateau", "RemoteMonitor", "SwapEMAWeights", "TensorBoard", "TerminateOnNaN", "experimental"]
