"""The README's fifteen-line example runs as written and learns."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_fifteen_line_example_runs_and_learns():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = blocks[0]
    assert "backward()" in example and "optim.Adam" in example
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)
    tg, F = namespace["tg"], namespace["F"]
    x = namespace["x"]
    t = x.detach().tanh()
    assert abs((x.grad - 2 * t * (1 - t * t)).abs().max().item()) < 1e-6
    X, y, model = namespace["X"], namespace["y"], namespace["model"]
    with tg.no_grad():
        logits = model(tg.tensor(X / 16, dtype="float32"))
        accuracy = (logits.argmax(axis=1) == tg.tensor(y, dtype="int64")).astype("float32").mean()
        loss = F.cross_entropy(logits, tg.tensor(y, dtype="int64"))
    assert accuracy.item() > 0.95 and loss.item() < 0.2  # training-set fit after 20 epochs
