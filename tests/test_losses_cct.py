import math

import pytest
import torch

from fer_utils.losses import cct_consistency_loss, cct_lambda, cct_loss, cct_supervision_loss
from fer_utils.papers.cct.models import CoTrained, ensemble_log_probs

# two networks, one sample, two classes: p1 = (1/2, 1/2), p2 = (3/4, 1/4), label 0
Z1 = torch.tensor([[0.0, 0.0]])
Z2 = torch.tensor([[math.log(3.0), 0.0]])
Y = torch.tensor([0])


def test_cct_lambda_eq4_hand_computed():
    assert cct_lambda(0, 10) == pytest.approx(0.9 * math.exp(-4))
    assert cct_lambda(5, 10) == pytest.approx(0.9 * math.exp(-1))
    assert cct_lambda(10, 10) == pytest.approx(0.9)
    assert cct_lambda(12, 10) == pytest.approx(0.9 * math.exp(-4 * 0.04))  # falls again after e_r
    assert cct_lambda(12, 10, clamp=True) == pytest.approx(0.9)
    assert cct_lambda(5, 10, lambda_max=0.5, beta=0.65) == pytest.approx(0.5 * math.exp(-0.65 * 0.25))
    with pytest.raises(ValueError):
        cct_lambda(1, 0)


def test_cct_terms_hand_computed():
    ce = math.log(2) + -math.log(0.75)
    assert cct_supervision_loss([Z1, Z2], Y).item() == pytest.approx(ce, rel=1e-6)
    kl_21 = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)   # KL(p2 || p1)
    kl_12 = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)     # KL(p1 || p2)
    assert cct_consistency_loss([Z1, Z2]).item() == pytest.approx(kl_21 + kl_12, rel=1e-6)
    lam = 0.25
    assert cct_loss([Z1, Z2], Y, lam).item() == pytest.approx((1 - lam) * ce + lam * (kl_21 + kl_12), rel=1e-6)
    assert cct_loss([Z1, Z2], Y, lam, scale=0.5).item() == pytest.approx(0.5 * ((1 - lam) * ce + lam * (kl_21 + kl_12)),
                                                                         rel=1e-6)
    # the common recipe's label smoothing eps = 0.1 in Eq. 2: target (1 - eps + eps/C, eps/C) = (0.95, 0.05)
    ce_ls = (0.95 * -math.log(0.5) + 0.05 * -math.log(0.5)) + (0.95 * -math.log(0.75) + 0.05 * -math.log(0.25))
    assert cct_supervision_loss([Z1, Z2], Y, 0.1).item() == pytest.approx(ce_ls, rel=1e-6)
    assert cct_loss([Z1, Z2], Y, lam, label_smoothing=0.1).item() == pytest.approx(
        (1 - lam) * ce_ls + lam * (kl_21 + kl_12), rel=1e-6)


def test_consistency_is_zero_for_agreeing_networks_and_sends_gradient_to_both():
    z = torch.randn(4, 8)
    assert cct_consistency_loss([z, z.clone(), z.clone()]).item() == pytest.approx(0, abs=1e-6)
    a = torch.randn(4, 8, requires_grad=True)
    b = torch.randn(4, 8, requires_grad=True)
    cct_consistency_loss([a, b]).backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0  # nothing detached
    three = [torch.randn(5, 8) for _ in range(3)]
    pairs = sum(cct_consistency_loss([three[j], three[k]]) for j in range(3) for k in range(j + 1, 3))
    assert cct_consistency_loss(three).item() == pytest.approx(pairs.item(), rel=1e-5)  # 6 ordered pairs


def test_cotrained_networks_differ_and_ensemble_averages_probabilities():
    torch.manual_seed(0)
    model = CoTrained(3, 8, "resnet18").eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 1, 48, 48))
    assert len(outs) == 3 and not torch.allclose(outs[0], outs[1])
    mean = torch.stack([o.softmax(1) for o in outs]).mean(0)
    assert torch.allclose(ensemble_log_probs(outs).exp(), mean, atol=1e-6)


def test_cct_cpu_runs_train_the_common_recipe_and_read_their_baseline_from_chapter_0():
    """Protocol 2: chapter 2's cpu rows take chapter 0's train block, label smoothing and dropout, one lr for
    every parameter; lambda_max is reached by e_r = 0.9 E, before the last epoch; the one-network row is chapter
    0's run (no networks=1 run on cpu), while the gpu profile keeps the paper's Adam recipe and its own baseline."""
    from fer_utils.baseline import runs as ch0
    from fer_utils.experiments import runs_for
    from fer_utils.papers.cct import runs as ch2
    from fer_utils.papers.cct.task import CCT, CCTRecipe
    common = ch0.common_recipe("cpu")
    cpu = runs_for("02_cct", "cpu")
    for c in cpu:
        assert c["networks"] > 1 and c["label_smoothing"] == common["label_smoothing"] and c["dropout"] == 0.5
        assert c["classifier_lr"] is None
        if c["name"] != "cct-oversampling":
            assert c["train"] == {**c["train"], **common["train"], "seed": c["train"]["seed"]}
    main = [c for c in cpu if c["name"] == "cct-single_annotator"]
    assert [c["seed"] for c in main] == [0, 1, 2] and len([c for c in cpu if c["name"] == "cct-ce-only"]) == 3
    recipe = CCTRecipe.from_config(main[0])
    method = CCT(recipe, 3)
    e = recipe.train.epochs
    assert method.lam(int(0.9 * e)) == pytest.approx(0.9) and method.lam(e - 1) > 0.85 and method.lam(0) < 0.02
    groups = method.param_groups(CoTrained(3, 8, recipe.arch))
    assert len(groups) == 1 and groups[0]["lr"] == common["train"]["lr"]
    assert ch2.baseline_run("single_annotator", "cpu") == ("00_data", ch0.run_name("single_annotator"))
    gpu = runs_for("02_cct", "gpu")
    assert {c["train"]["optimizer"] for c in gpu} == {"adam"} and any(c["networks"] == 1 for c in gpu)
    assert ch2.baseline_run("majority", "gpu") == ("02_cct", "baseline-majority")


class _FakeRun:
    def __init__(self, lambdas, agreement, best, name="cct-single_annotator", seed=0):
        self.history = [{"epoch": e, "lambda": lam, "valid_agreement": agreement, "valid_macro_f1": 0.5}
                        for e, lam in enumerate(lambdas)]
        self.metrics = {"best_epoch": best, "history": self.history}
        self.config = {"name": name, "seed": seed}


def test_consensus_signal_needs_lambda_max_before_the_last_epoch():
    from fer_utils.papers.cct.signals import consensus_signal, lambda_reached
    ramp = [cct_lambda(e, 9 * 0.9) for e in range(10)]           # e_r = 8.1: lambda_max within 1% at epoch 8
    assert lambda_reached([{"epoch": e, "lambda": v} for e, v in enumerate(ramp)]) == 8
    ok, text = consensus_signal([_FakeRun(ramp, 0.95, 9)], [_FakeRun([0.0] * 10, 0.80, 9)])
    assert ok and "epoch 8 of 10" in text and "disagree on 5.0% of Valid" in text and "λ = 0: 20.0%" in text
    short = [cct_lambda(e, 4 * 0.9) for e in range(4)]           # the old 4-epoch runs: 0.81 in the last epoch
    ok, text = consensus_signal([_FakeRun(short, 0.9, 3)])
    assert not ok and "did not reach λ_max = 0.9 within 4 epochs in 1 of 1 run(s)" in text
    assert consensus_signal([]) == (False, "no CCT run stored")
