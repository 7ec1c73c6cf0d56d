"""Training: ``fit`` a model, ``evaluate`` it, keep a ``History``, checkpoint and resume.

>>> import tinygrad_edu as tg
>>> from tinygrad_edu import data, nn, optim
>>> import tinygrad_edu.nn.functional as F
>>> from tinygrad_edu.train import fit, evaluate
>>> X, y = data.xor(n=200, seed=0)
>>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
>>> history = fit(model, F.cross_entropy, optim.Adam(model.parameters(), lr=0.05),
...               data.DataLoader(X, y, batch_size=32), epochs=30, progress=False)
>>> evaluate(model, X, y)["accuracy"] > 0.9
True
"""

from .checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from .early_stopping import EarlyStopping
from .history import History
from .loop import evaluate, fit
from .metrics import Accuracy, MeanOf, MeanSquaredError, Metric, R2Score, confusion_matrix
from .saved import load_model

__all__ = [
    "Accuracy",
    "EarlyStopping",
    "History",
    "MeanOf",
    "MeanSquaredError",
    "Metric",
    "R2Score",
    "confusion_matrix",
    "evaluate",
    "fit",
    "load_checkpoint",
    "load_model",
    "read_checkpoint_metadata",
    "save_checkpoint",
]
