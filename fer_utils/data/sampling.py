"""Batch index samplers, computed on the device: plain shuffling and class-balanced batches."""
from __future__ import annotations

import torch


def plain_batches(n: int, batch_size: int, num_batches: int, gen: torch.Generator) -> torch.Tensor:
    """(num_batches, batch_size) indices from successive seeded permutations of range(n) (drop-last).
    A pool smaller than one batch (e.g. a small unlabelled pool) is cycled through successive permutations."""
    if n == 0:
        raise ValueError("plain_batches needs at least one sample")
    if n < batch_size:
        reps = -(-num_batches * batch_size // n)
        stream = torch.cat([torch.randperm(n, generator=gen, device=gen.device) for _ in range(reps)])
        return stream[: num_batches * batch_size].view(num_batches, batch_size)
    per_perm = n // batch_size
    perms = [torch.randperm(n, generator=gen, device=gen.device)[: per_perm * batch_size]
             for _ in range(-(-num_batches // per_perm))]
    return torch.cat(perms).view(-1, batch_size)[:num_batches]


def class_balanced_batches(labels: torch.Tensor, batch_size: int, num_batches: int,
                           gen: torch.Generator) -> torch.Tensor:
    """(num_batches, batch_size) indices with equal images per class in every batch.

    Each of the C classes present (labels >= 0) gets batch_size // C slots per batch; when C does not
    divide batch_size the remaining slots go to classes drawn at random, so counts differ by at most one.
    Within a class, images are drawn by cycling through seeded permutations (all are seen before any
    repeats); rare classes are therefore repeated, which is the point of balancing.
    """
    device = labels.device
    classes = torch.unique(labels[labels >= 0])
    c = len(classes)
    if c == 0:
        raise ValueError("class_balanced_batches needs labelled samples (labels >= 0)")
    base = batch_size // c
    extra = batch_size - base * c
    counts = torch.full((num_batches, c), base, device=device)
    if extra:
        pick = torch.rand(num_batches, c, generator=gen, device=device).argsort(dim=1)[:, :extra]
        counts.scatter_add_(1, pick, torch.ones_like(pick))
    columns = []
    for j, cls in enumerate(classes):
        members = torch.nonzero(labels == cls).squeeze(1)
        need = int(counts[:, j].sum())
        reps = -(-need // len(members))
        stream = torch.cat([members[torch.randperm(len(members), generator=gen, device=device)]
                            for _ in range(reps)])[:need]
        columns.append((stream, counts[:, j]))
    rows = []
    offsets = [0] * c
    for b in range(num_batches):
        parts = []
        for j, (stream, cnt) in enumerate(columns):
            k = int(cnt[b])
            parts.append(stream[offsets[j]: offsets[j] + k])
            offsets[j] += k
        rows.append(torch.cat(parts))
    batches = torch.stack(rows)
    shuffle = torch.rand(batches.shape, generator=gen, device=device).argsort(dim=1)
    return batches.gather(1, shuffle)


class ClassBalancedSampler(torch.utils.data.Sampler):
    """A batch sampler for torch DataLoaders: yields ``num_batches`` lists of indices, each with equal
    counts per class (see ``class_balanced_batches``). Seeded; a new draw per pass (epoch)."""

    def __init__(self, labels, batch_size: int, num_batches: int, seed: int = 0):
        self.labels = torch.as_tensor(labels)
        self.batch_size, self.num_batches = batch_size, num_batches
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self):
        yield from class_balanced_batches(self.labels, self.batch_size, self.num_batches, self.gen).tolist()
