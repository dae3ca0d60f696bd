"""A small deterministic training run used by the Trainer tests (resume after SIGKILL, DDP under torchrun)."""

import argparse
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from core.train import TrainConfig, Trainer  # noqa: E402


def build():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(96, 8, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    data = list(zip(x, y))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 2))
    return model, data[:80], data[80:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, train, val = build()

    def kill(record):
        if args.kill_at and record.get("event") == "tick" and record["step"] == args.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    config = TrainConfig(epochs=args.epochs, batch_size=8, lr=0.05, grad_accum_steps=2, checkpoint_every_steps=1,
                         log_every_steps=1, patience=None, progress_bar=False)
    result = Trainer(model, train, config=config, val_data=val, run_dir=args.run_dir, callbacks=[kill], device="cpu").fit(resume=args.resume)
    rank = int(os.environ.get("RANK", 0))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f"{args.out}.rank{rank}.safetensors")
    Path(f"{args.out}.rank{rank}.json").write_text(json.dumps({"steps": result.steps, "history": result.history}))


if __name__ == "__main__":
    main()
