"""One epoch of the main job: ``tinygrad-edu train`` on digits."""

import contextlib
import io

from .common import gpu_backends, needs


class TrainEpoch:
    """``tinygrad-edu train --epochs 1 --no-progress``: data, model, one epoch, evaluation."""

    params = gpu_backends()
    param_names = ["backend"]
    number = 1
    repeat = 3

    def setup(self, backend_name):
        with needs("the tinygrad-edu command line (tinygrad_edu.cli)"):
            from tinygrad_edu import cli

        self.cli = cli

    def time_train_one_epoch(self, backend_name):
        with contextlib.redirect_stdout(io.StringIO()):
            status = self.cli.main(
                ["train", "--epochs", "1", "--no-progress", "--backend", backend_name]
            )
        if status:
            raise RuntimeError(f"tinygrad-edu train exited with {status}")
