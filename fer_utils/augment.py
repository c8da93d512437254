"""Batch-wise augmentation on the device (GPU on the H100, CPU in smoke runs).

Images stay uint8 on the device; ``to_float`` turns a batch into (N, 1, H, W) floats in [0, 1], every op
below works on such a batch with per-sample random parameters, and ``normalize`` comes last.
All randomness comes from the ``torch.Generator`` passed in (one on the batch's device), so a view is
deterministic under a seed.

weak   = random crop with 4-px reflect padding + horizontal flip (FixMatch's weak view)
strong = weak + RandAugment (``num_ops`` ops drawn per sample, magnitude drawn uniformly in each op's
         range as in the FixMatch RandAugment that MutexMatch and Ada-CM use) + Cutout; random erasing
         where a paper uses it. Ops are implemented for grayscale; colour-only ops (Color) are left out.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MEAN, STD = 0.5, 0.25  # the book's fixed normalisation of 48x48 grayscale faces (FER+ mean 0.51, std 0.25)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """(N, H, W) uint8 -> (N, 1, H, W) float32 in [0, 1]."""
    return images.unsqueeze(1).float().div_(255)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - MEAN) / STD


def _rand(n, gen, device, lo=0.0, hi=1.0):
    return torch.rand(n, generator=gen, device=device) * (hi - lo) + lo


def hflip(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Flip each image left-right with probability p. x: (N, C, H, W)."""
    flip = _rand(len(x), gen, x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_crop(x: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Pad by ``pad`` (reflect) and crop back to H x W at a per-sample random offset."""
    n, c, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen, device=x.device)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen, device=x.device)
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (N, 1, H, 1)
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (N, 1, 1, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return xp[batch, chan, rows, cols]


def weak(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Weak view: random crop with padding + horizontal flip."""
    return hflip(random_crop(x, pad, gen), 0.5, gen)


# --------------------------------------------------------------------------- RandAugment ops
def _blend(a, b, factor):
    return (b + (a - b) * factor[:, None, None, None]).clamp_(0, 1)


def _affine(x, theta):
    """Apply per-sample 2x3 affine matrices (normalised coordinates), filling with mid-gray."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - 0.5, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 0.5


def _eye(n, device):
    return torch.eye(2, 3, device=device).repeat(n, 1, 1)


def _signed(m, gen):
    sign = torch.where(_rand(len(m), gen, m.device) < 0.5, -1.0, 1.0)
    return m * sign


def op_identity(x, m, gen):
    return x


def op_autocontrast(x, m, gen):
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    return torch.where(hi > lo, (x - lo) / (hi - lo).clamp_min(1e-6), x)


def op_equalize(x, m, gen):
    n = len(x)
    v = (x * 255).round().long().clamp_(0, 255).view(n, -1)
    hist = torch.zeros(n, 256, device=x.device).scatter_add_(1, v, torch.ones_like(v, dtype=torch.float))
    cdf = hist.cumsum(1)
    cdf_min = torch.where(hist > 0, cdf, torch.full_like(cdf, float("inf"))).amin(1, keepdim=True)
    lut = ((cdf - cdf_min) / (cdf[:, -1:] - cdf_min).clamp_min(1)).clamp_(0, 1)
    return lut.gather(1, v).view_as(x)


def op_brightness(x, m, gen):      # factor in [0.05, 1.95]
    return _blend(x, torch.zeros_like(x), 1 + _signed(m * 0.95, gen))


def op_contrast(x, m, gen):
    mean = x.mean(dim=(1, 2, 3), keepdim=True).expand_as(x)
    return _blend(x, mean, 1 + _signed(m * 0.95, gen))


def op_sharpness(x, m, gen):
    k = torch.tensor([[1., 1., 1.], [1., 5., 1.], [1., 1., 1.]], device=x.device) / 13
    smooth = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k.expand(x.shape[1], 1, 3, 3), groups=x.shape[1])
    return _blend(x, smooth, 1 + _signed(m * 0.95, gen))


def op_posterize(x, m, gen):       # keep 4..8 bits
    bits = (8 - (m * 4).round()).clamp(4, 8)
    step = (2 ** (8 - bits))[:, None, None, None]
    return torch.floor(x * 255 / step) * step / 255


def op_solarize(x, m, gen):        # threshold in [0, 1]: lower = stronger
    t = (1 - m)[:, None, None, None]
    return torch.where(x >= t, 1 - x, x)


def op_rotate(x, m, gen):          # up to +-30 degrees
    a = _signed(m, gen) * math.radians(30)
    theta = _eye(len(x), x.device)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = a.cos(), -a.sin(), a.sin(), a.cos()
    return _affine(x, theta)


def _affine_entry(row: int, col: int, limit: float, doc: str):
    """An op that sets one entry of the affine matrix to +-m * limit (shear or translation)."""
    def op(x, m, gen):
        theta = _eye(len(x), x.device)
        theta[:, row, col] = _signed(m * limit, gen)
        return _affine(x, theta)
    op.__doc__ = doc
    return op


op_shear_x = _affine_entry(0, 1, 0.3, "Shear along x by up to +-0.3.")
op_shear_y = _affine_entry(1, 0, 0.3, "Shear along y by up to +-0.3.")
op_translate_x = _affine_entry(0, 2, 0.6, "Translate by up to +-30% of the width (normalised coordinates span 2).")
op_translate_y = _affine_entry(1, 2, 0.6, "Translate by up to +-30% of the height.")


RAND_OPS = (op_identity, op_autocontrast, op_equalize, op_brightness, op_contrast, op_sharpness, op_posterize,
            op_solarize, op_rotate, op_shear_x, op_shear_y, op_translate_x, op_translate_y)
PHOTOMETRIC_OPS = RAND_OPS[:8]


def rand_augment(x: torch.Tensor, gen: torch.Generator, num_ops: int = 2, ops=RAND_OPS) -> torch.Tensor:
    """RandAugment on a batch: for each of ``num_ops`` rounds every sample draws one op and a magnitude
    in [0, 1] (scaled to the op's range); the batch is processed op by op."""
    x = x.clone()
    n = len(x)
    for _ in range(num_ops):
        which = torch.randint(0, len(ops), (n,), generator=gen, device=x.device)
        mag = _rand(n, gen, x.device)
        for k, op in enumerate(ops):
            idx = (which == k).nonzero().squeeze(1)
            if len(idx):
                x[idx] = op(x[idx], mag[idx], gen)
    return x


def _boxes(x, gen, scale, ratio):
    """Per-sample boolean masks (N, 1, H, W) of rectangles: area fraction U(scale), aspect log-U(ratio)."""
    n, _, h, w = x.shape
    area = _rand(n, gen, x.device, *scale) * h * w
    ratio = torch.exp(_rand(n, gen, x.device, math.log(ratio[0]), math.log(ratio[1])))
    bh = (area * ratio).sqrt().round().clamp(1, h)
    bw = (area / ratio).sqrt().round().clamp(1, w)
    y0 = (_rand(n, gen, x.device) * (h - bh + 1)).floor()
    x0 = (_rand(n, gen, x.device) * (w - bw + 1)).floor()
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    mask = ((ys >= y0[:, None, None]) & (ys < (y0 + bh)[:, None, None]) &
            (xs >= x0[:, None, None]) & (xs < (x0 + bw)[:, None, None]))
    return mask[:, None]


def cutout(x: torch.Tensor, gen: torch.Generator, max_frac: float = 0.5, fill: float = 0.5) -> torch.Tensor:
    """Square Cutout with side U(0, max_frac) * width, filled with gray (FixMatch RandAugment's last step)."""
    side = _rand(len(x), gen, x.device, 0, max_frac)
    n, _, h, w = x.shape
    s = (side * w).round()
    cy = _rand(n, gen, x.device) * h
    cx = _rand(n, gen, x.device) * w
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    half = s[:, None, None] / 2
    mask = ((ys - cy[:, None, None]).abs() < half) & ((xs - cx[:, None, None]).abs() < half)
    return torch.where(mask[:, None], torch.full_like(x, fill), x)


def random_erasing(x: torch.Tensor, gen: torch.Generator, p: float = 0.5, scale=(0.02, 0.25),
                   ratio=(0.3, 3.3), fill: float = 0.5) -> torch.Tensor:
    """Random erasing (Zhong et al.; torchvision's defaults): with probability p, one rectangle of area
    fraction U(scale) and aspect ratio log-U(ratio) is filled with ``fill``."""
    mask = _boxes(x, gen, scale, ratio)
    mask &= (_rand(len(x), gen, x.device) < p)[:, None, None, None]
    return torch.where(mask, torch.full_like(x, fill), x)


def color_jitter(x: torch.Tensor, gen: torch.Generator, brightness: float = 0.25, contrast: float = 0.25,
                 p: float = 1.0) -> torch.Tensor:
    """With probability p, brightness and contrast factors drawn in [1 - b, 1 + b] and [1 - c, 1 + c]
    (torchvision's ColorJitter for grayscale faces; saturation and hue do not apply)."""
    n = len(x)
    y = _blend(x, torch.zeros_like(x), _rand(n, gen, x.device, 1 - brightness, 1 + brightness))
    mean = y.mean(dim=(1, 2, 3), keepdim=True).expand_as(y)
    y = _blend(y, mean, _rand(n, gen, x.device, 1 - contrast, 1 + contrast))
    return torch.where((_rand(n, gen, x.device) < p)[:, None, None, None], y, x)


def strong(x: torch.Tensor, gen: torch.Generator, num_ops: int = 2, erasing: bool = False) -> torch.Tensor:
    """Strong view: weak + RandAugment + Cutout (+ random erasing if a paper uses it)."""
    x = cutout(rand_augment(weak(x, gen), gen, num_ops), gen)
    return random_erasing(x, gen) if erasing else x
