"""Optimizers and learning-rate schedules with PyTorch's update rules and defaults.

>>> from tinygrad_edu import optim
>>> optimizer = optim.Adam(model.parameters(), lr=1e-3)  # doctest: +SKIP
>>> for x, y in loader:  # doctest: +SKIP
...     optimizer.zero_grad()
...     loss_fn(model(x), y).backward()
...     optimizer.step()

Each optimizer's docstring states its update formula; its ``update`` method
is that formula on the raw arrays of one parameter.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .newton_cg import NewtonCG
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "LBFGS",
    "NewtonCG",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
]
