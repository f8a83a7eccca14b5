#!/usr/bin/env python
"""How much does ``Trainer.fit`` cost over a hand-written loop?  (``make bench``)

Same model (MLP 784-256-10), same data (MNIST from the registry, or random digits-shaped data
if MNIST is not available), same optimizer, one epoch of training plus one validation pass, run
alternately several times. Prints the median seconds per epoch of each and the overhead. The
target is an overhead within 5 %.

Usage: python tests/benchmarks/trainer_overhead.py [--repeats 7] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlbook
from dlbook.data import DataUnavailableError, load_mnist
from dlbook.models import MLP
from dlbook.train import Trainer


def data():
    try:
        x, y = load_mnist(train=True, download=False)
        source = "MNIST"
    except DataUnavailableError:
        g = torch.Generator().manual_seed(0)
        x, y = torch.randint(0, 256, (60000, 28, 28), generator=g, dtype=torch.uint8), torch.randint(0, 10, (60000,), generator=g)
        source = "random digits-shaped data (MNIST not available offline)"
    x = (x.float() / 255 - 0.1307) / 0.3081
    return x[:50000], y[:50000], x[50000:], y[50000:], source


def hand_loop(model, loss_fn, optimizer, train_loader, val_loader):
    """The loop every tutorial writes: train one epoch, then validate."""
    model.train()
    total, count = 0.0, 0
    for x, y in train_loader:
        out = model(x)
        loss = loss_fn(out, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    model.eval()
    val_total, val_count = 0.0, 0
    with torch.no_grad():
        for x, y in val_loader:
            val_total += loss_fn(model(x), y).item() * len(x)
            val_count += len(x)
    return total / count, val_total / val_count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    xtr, ytr, xva, yva, source = data()
    g = dlbook.seed_everything(0)
    train_loader = DataLoader(TensorDataset(xtr, ytr), batch_size=args.batch_size, shuffle=True, generator=g)
    val_loader = DataLoader(TensorDataset(xva, yva), batch_size=1000)
    model = MLP(784, (256,), 10)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    trainer = Trainer(model, loss_fn, optimizer, device="cpu", verbose=False)

    hand_loop(model, loss_fn, optimizer, train_loader, val_loader)  # warm-up (allocator, threads)
    hand, fit = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        hand_loop(model, loss_fn, optimizer, train_loader, val_loader)
        hand.append(time.perf_counter() - t)
        t = time.perf_counter()
        trainer.fit(train_loader, val_loader, epochs=1)
        fit.append(time.perf_counter() - t)
    h, f = statistics.median(hand), statistics.median(fit)
    overhead = (f - h) / h * 100
    print(f"data: {source}; {len(train_loader)} batches of {args.batch_size} per epoch; torch threads: "
          f"{torch.get_num_threads()}; {args.repeats} alternating repeats")
    print(f"hand-written loop : median {h:.3f} s/epoch  (min {min(hand):.3f}, max {max(hand):.3f})")
    print(f"Trainer.fit       : median {f:.3f} s/epoch  (min {min(fit):.3f}, max {max(fit):.3f})")
    print(f"Trainer overhead  : {overhead:+.1f} % of the hand-written loop (target: within 5 %)")
    return 0 if overhead <= 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
