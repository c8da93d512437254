import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fer_utils import augment as A
from fer_utils.data import ClassBalancedSampler
from fer_utils.data.sampling import class_balanced_batches, plain_batches
from fer_utils.models import ARCHS, build_model, class_attention_maps, load_backbone
from fer_utils.schedules import cosine_factor, exponential_factor, lr_factor


def batch(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 48, 48, generator=g)


def test_random_crop_is_a_window_of_the_padded_image():
    x = batch(6)
    out = A.random_crop(x, 4, torch.Generator().manual_seed(1))
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    for i in range(6):
        windows = padded[i, 0].unfold(0, 48, 1).unfold(1, 48, 1)  # (9, 9, 48, 48)
        assert (windows == out[i, 0]).all(-1).all(-1).any()


def test_hflip_probability_and_exactness():
    x = batch(2000)
    out = A.hflip(x, 0.5, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert (flipped | kept).all() and abs(flipped.float().mean() - 0.5) < 0.05


def test_views_are_deterministic_under_a_seed_and_stay_in_range():
    x = batch(32)
    a = A.strong(x, torch.Generator().manual_seed(3), erasing=True)
    b = A.strong(x, torch.Generator().manual_seed(3), erasing=True)
    c = A.strong(x, torch.Generator().manual_seed(4), erasing=True)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1 and a.shape == x.shape


def test_photometric_ops_hand_checked():
    x = torch.tensor([0.0, 0.25, 0.5, 1.0]).view(1, 1, 2, 2)
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(A.op_solarize(x, torch.tensor([0.5]), g), torch.tensor([0.0, 0.25, 0.5, 0.0]).view(1, 1, 2, 2))
    y = torch.tensor([0.2, 0.4, 0.6, 0.6]).view(1, 1, 2, 2)
    assert torch.allclose(A.op_autocontrast(y, None, g), torch.tensor([0.0, 0.5, 1.0, 1.0]).view(1, 1, 2, 2))
    z = torch.tensor([10, 20, 20, 250]).view(1, 1, 2, 2) / 255
    assert torch.allclose(A.op_equalize(z, None, g), torch.tensor([0.0, 2 / 3, 2 / 3, 1.0]).view(1, 1, 2, 2))
    assert torch.allclose(A.op_posterize(torch.full((1, 1, 1, 1), 200 / 255), torch.tensor([1.0]), g) * 255,
                          torch.tensor(192.0))  # 4 bits kept


def test_random_erasing_area_and_probability():
    x = torch.ones(4000, 1, 48, 48)
    out = A.random_erasing(x, torch.Generator().manual_seed(0), p=0.5, scale=(0.02, 0.25), fill=0.0)
    frac = (out == 0).float().mean(dim=(1, 2, 3))
    erased = frac > 0
    assert abs(erased.float().mean() - 0.5) < 0.03
    assert frac[erased].min() >= 0.01 and frac[erased].max() <= 0.3


def test_class_balanced_batches_have_equal_counts():
    labels = torch.tensor([0] * 500 + [1] * 7 + [2] * 40 + [-1] * 30)
    b = class_balanced_batches(labels, 48, 20, torch.Generator().manual_seed(0))
    counts = torch.stack([torch.bincount(labels[r], minlength=3) for r in b])
    assert (counts == 16).all() and (labels[b] >= 0).all()
    # images of a class are drawn by cycling through permutations: use counts differ by at most one
    use = torch.bincount(b.flatten(), minlength=len(labels))
    assert use[500:507].max() - use[500:507].min() <= 1 and use[507:547].max() - use[507:547].min() <= 1
    sampler = ClassBalancedSampler(labels.numpy(), batch_size=30, num_batches=3, seed=0)
    assert len(list(sampler)) == 3 and all(len(set(labels[i].tolist())) == 3 for i in sampler)


def test_plain_batches_are_permutations():
    small = plain_batches(5, 8, 3, torch.Generator().manual_seed(0))  # a pool smaller than a batch is cycled
    assert small.shape == (3, 8) and sorted(small.flatten()[:5].tolist()) == [0, 1, 2, 3, 4]
    b = plain_batches(100, 32, 6, torch.Generator().manual_seed(0))
    assert b.shape == (6, 32)
    assert len(set(b[:3].flatten().tolist())) == 96  # one pass without repeats


# every concrete architecture, and the cpu profile's compact networks (members of models.ARCH_PATTERNS)
CPU_ARCHS = ("resnet18_w16_s2", "resnet18_w32_s2", "regnet_y_400mf_s2", "mobilenet_v2_s2", "efficientnet_b0_s2",
             "densenet_k12_s2")


@pytest.mark.parametrize("arch", sorted(set(ARCHS) | set(CPU_ARCHS)))
def test_models_give_logits_features_and_maps(arch):
    model = build_model(arch, num_classes=8).eval()
    with torch.no_grad():
        logits, features, maps = model(torch.randn(2, 1, 48, 48), return_features=True)
    assert logits.shape == (2, 8) and features.shape == (2, model.feature_dim)
    assert maps.shape[:2] == (2, model.feature_dim) and maps.shape[2] >= (2 if arch.endswith("_s2") else 3)
    assert torch.allclose(features, maps.mean(dim=(2, 3)))


def test_compact_resnet18_keeps_the_layout_at_a_quarter_width():
    model = build_model("resnet18_w16_s2", 8)
    stem = model.backbone[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (2, 2) and stem.out_channels == 16
    blocks = [m for m in model.backbone if m.__class__.__name__ == "BasicBlock"]
    assert [b.conv2.out_channels for b in blocks] == [16, 16, 32, 32, 64, 64, 128, 128]
    assert [b.conv1.stride[0] for b in blocks] == [1, 1, 2, 1, 2, 1, 2, 1]
    with torch.no_grad():
        _, _, maps = model.eval()(torch.randn(1, 1, 48, 48), return_features=True)
    assert maps.shape == (1, 128, 3, 3)
    assert sum(p.numel() for p in model.parameters()) == 700_920
    assert build_model("resnet18_w32_s1", 8).backbone[0].stride == (1, 1)
    with pytest.raises(ValueError, match="resnet18_w{W}_s{S}"):
        build_model("resnet18_w16_s3", 8)


def test_resnet18_stem_and_maps():
    model = build_model("resnet18", 8)
    conv1 = model.backbone[0]
    assert conv1.kernel_size == (3, 3) and conv1.stride == (1, 1) and conv1.in_channels == 1
    with torch.no_grad():
        _, _, maps = model.eval()(torch.randn(1, 1, 48, 48), return_features=True)
    assert maps.shape == (1, 512, 6, 6)


def test_class_attention_maps_and_backbone_transfer():
    model = build_model("resnet18", 8).eval()
    with torch.no_grad():
        logits, features, maps = model(torch.randn(3, 1, 48, 48), return_features=True)
        cam = class_attention_maps(maps, model.fc.weight)
    assert cam.shape == (3, 8, 6, 6)
    # the mean of each class map plus the bias is that class's logit
    assert torch.allclose(cam.mean(dim=(2, 3)) + model.fc.bias, logits, atol=1e-4)
    other = load_backbone(build_model("resnet18", 3), model.state_dict())
    assert torch.equal(other.backbone[0].weight, model.backbone[0].weight)


def test_schedules():
    assert cosine_factor(0, 100) == 1 and cosine_factor(100, 100) == pytest.approx(0)
    assert cosine_factor(50, 100) == pytest.approx(0.5)
    assert exponential_factor(3, 0.95) == pytest.approx(0.95 ** 3)
    assert lr_factor("none", 5, 10, 2) == 1
    with pytest.raises(ValueError, match="schedule="):
        lr_factor("step", 0, 1, 0)


def test_two_head_net_detaches_only_the_separation_head_input():
    from fer_utils.papers.abaw5_expression.models import TwoHeadNet
    model = TwoHeadNet(8)
    tpc, tnc, tnc_sep = model(torch.randn(2, 1, 48, 48), heads=True)
    assert tpc.shape == tnc.shape == tnc_sep.shape == (2, 8) and torch.allclose(tnc, tnc_sep)
    tnc_sep.sum().backward()
    assert model.tnc.weight.grad is not None and model.net.fc.weight.grad is None
    assert all(p.grad is None for p in model.net.backbone.parameters())  # L_sep does not reach the backbone


def test_importance_net_alpha_and_maps():
    from fer_utils.papers.abaw5_expression.models import ImportanceNet
    model = ImportanceNet(8).eval()
    with torch.no_grad():
        logits, alpha, maps = model(torch.randn(3, 1, 48, 48), return_all=True)
    assert logits.shape == (3, 8) and alpha.shape == (3,) and ((alpha > 0) & (alpha < 1)).all()
    assert maps.shape == (3, 8, 6, 6)


def test_frozen_feature_classifier_trains_only_its_head():
    from fer_utils.papers.abaw5_expression.models import FrozenFeatureClassifier
    body = build_model("resnet18", 23)
    model = FrozenFeatureClassifier(body.backbone, body.feature_dim, 8)
    model.train()
    assert not model.backbone.training and model.head.training
    model(torch.randn(4, 1, 48, 48)).sum().backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert sum(isinstance(m, torch.nn.Linear) for m in model.head) == 4  # three hidden FC + the output
