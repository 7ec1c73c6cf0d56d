"""One epoch of the main job: ``tinygrad-edu train`` on digits."""

import contextlib
import io

from tinygrad_edu import cli

from .common import gpu_backends


class TrainEpoch:
    """``tinygrad-edu train --epochs 1 --no-progress``: data, model, one epoch, evaluation."""

    params = gpu_backends()
    param_names = ["backend"]
    number = 1
    repeat = 3

    def time_train_one_epoch(self, backend_name):
        with contextlib.redirect_stdout(io.StringIO()):
            status = cli.main(
                ["train", "--epochs", "1", "--no-progress", "--backend", backend_name]
            )
        if status:
            raise RuntimeError(f"tinygrad-edu train exited with {status}")
