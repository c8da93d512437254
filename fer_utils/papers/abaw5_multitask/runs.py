"""Chapter 5's run list (paper 004): Table 2 (the five sub-classifiers of the ensemble), its ablations, Table 3
(the AU model on three feature backbones) and the valence/arousal runs. The only place chapter 5's run names
are made (``run_name``)."""
from __future__ import annotations

from ...baseline import runs as ch0
from ...profiles import backbone, check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "05_abaw5_multitask"

# The ensemble's five members, one per family (run names use the family; the config's "arch" is the network
# trained). Protocol 2: every member trains the common recipe (chapter 0: SGD one-cycle, label smoothing 0.1,
# flip TTA, selection on FER+ Valid) for its budget E with CE + soft Dice; one ensemble costs at most
# members.ENSEMBLE_COST_CAP x the baseline network per seed. cpu/smoke: narrow members of each family chosen from
# results/benchmarks/ensemble-members-cpu.json (benchmarks/ensemble_members.py; tests/test_abaw5_multitask.py
# checks the sum against the cap). gpu: the paper's ResNet-18, MobileNetV2 and DenseNet-121 (method notes
# B-004.5) and, instead of its ResNet-152 and DenseNet-201 (two more of the same families), RegNetY-800MF and a
# full-width VGG-style network, so that the five members are of five families as on the cpu profile.
SUBCLASSIFIERS = ("resnet", "mobilenet", "densenet", "regnet", "vgg")
MEMBER_ARCHS = {
    "cpu": {"resnet": "resnet18_w16_s2", "mobilenet": "mobilenet_v2_x035_s2_h128", "densenet": "densenet_k8_2-4-6-4_s2",
            "regnet": "regnet_y_200mf_s4_h128", "vgg": "vgg_w16_s2"},
    "gpu": {"resnet": "resnet18", "mobilenet": "mobilenet_v2", "densenet": "densenet121", "regnet": "regnet_y_800mf",
            "vgg": "vgg_w64_s1"},
}
MEMBER_ARCHS["smoke"] = MEMBER_ARCHS["cpu"]
AU_BACKBONES = ("resnet50", "regnet_y_400mf", "regnet_y_800mf")   # Table 3 (gpu)
AU_COMMON = "common"   # cpu/smoke: the AU features come from the common recipe's network (chapter 0's backbone)
VA_BACKBONES = ("resnet50", "regnet_y_400mf", "efficientnet_b0")  # method notes B-004.2
# The VA stand-in's compact backbones on cpu and smoke (stride-2 stems; ResNet-50 -> the wider compact ResNet-18)
VA_CPU = {"resnet50": "resnet18_w32_s2", "regnet_y_400mf": "regnet_y_400mf_s2", "efficientnet_b0": "efficientnet_b0_s2"}
SETTINGS = ("single_annotator", "majority", "ce-only", "bootstrap", "no-other")

# Recipe overrides per profile (checked against each task's recipe at import). cpu and smoke: the members and the
# AU backbone on the common recipe (``ch0.common_overrides``), the AU model as on the gpu, the VA backbones on 2
# epochs of Adam with 15-epoch heads (a derived stand-in; in the 50-epoch cpu run va-fusion-55c77375d8f0, stored
# at commit 4c47414, the best validation CCC of the first 15 epochs was within 0.005 of the best of 50 for each
# head variant). gpu: the paper's Adam lr 5e-4 for 20 epochs, best epoch on validation.
_VA_PRETRAIN = {"smoke": dict(epochs=1, batch_size=8, steps_per_epoch=1, lr=5e-4, weight_decay=1e-4),
                "cpu": dict(epochs=2, batch_size=128, steps_per_epoch=160, lr=1e-3, weight_decay=1e-4)}


def _common(profile):
    return {**ch0.common_overrides(profile)}


def _au_common(profile):
    o = _common(profile)
    return dict(pretrain=o["train"], label_smoothing=o["label_smoothing"], dropout=o["dropout"])


_PAPER = dict(epochs=20, batch_size=256, lr=5e-4, weight_decay=1e-4, compile=True)
PROFILES = check_profiles({
    **{p: {"expression_subclassifier": dict(task="expression_subclassifier", **_common(p)),
           "au_temporal": dict(task="au_temporal", **_au_common(p),
                               au_model=dict(epochs=2, batch_size=4, lr=1e-3) if p == "smoke" else {}),
           "va_fusion": dict(task="va_fusion", pretrain=_VA_PRETRAIN[p],
                             heads=dict(epochs=2, batch_size=64) if p == "smoke" else dict(epochs=15))}
       for p in ("smoke", "cpu")},
    "gpu": {"expression_subclassifier": dict(task="expression_subclassifier", train=_PAPER),
            "au_temporal": dict(task="au_temporal", pretrain=_PAPER, au_model={}),
            "va_fusion": dict(task="va_fusion", pretrain=_PAPER, heads={})},
}, NOTEBOOK)
# seeds: the ensemble on single-annotator labels (the headline); majority_seeds: on majority labels; the
# ablations (CE only and a bootstrap resample: the whole ensemble; scheme 2: the ResNet member) take the first.
CHAPTER = {"smoke": dict(seeds=[0], majority_seeds=[0], va_seeds=[0]),
           "cpu": dict(seeds=[0, 1, 2], majority_seeds=[0], va_seeds=[0]),
           "gpu": dict(seeds=[0, 1, 2], majority_seeds=[0, 1, 2], va_seeds=[0, 1, 2])}


def budget(profile: str) -> dict:
    """This profile's chapter knobs and recipe overrides (what the chapter's prose quotes)."""
    check_profile(profile)
    return {"data": data_for(profile), **CHAPTER[profile],
            "recipes": {k: overrides(PROFILES, profile, k) for k in PROFILES[profile]}}


def member_arch(family: str, profile: str) -> str:
    """The network the ``family`` member trains on ``profile`` (MEMBER_ARCHS), or a VA backbone's (VA_CPU on
    cpu and smoke, itself on gpu)."""
    check_profile(profile)
    if family in MEMBER_ARCHS[profile]:
        return MEMBER_ARCHS[profile][family]
    if family in VA_BACKBONES or family in AU_BACKBONES:
        return family if profile == "gpu" else VA_CPU.get(family, family)
    raise KeyError(f"chapter 5 has no member {family!r} (its members: {', '.join(SUBCLASSIFIERS)})")


def run_name(family: str, setting: str) -> str:
    """A chapter-5 run name: a member ``family`` (SUBCLASSIFIERS) with its labels or ablation (SETTINGS:
    "single_annotator", "majority", "ce-only", "bootstrap", "no-other"); "au" with an AU backbone (AU_BACKBONES,
    or AU_COMMON); "va" with "fusion"."""
    if family == "au":
        if setting not in (*AU_BACKBONES, AU_COMMON):
            raise KeyError(f"chapter 5 has no AU backbone {setting!r} (its backbones: "
                           f"{', '.join((*AU_BACKBONES, AU_COMMON))})")
        return f"au-{setting}"
    if family == "va":
        return f"va-{setting}"
    if family not in SUBCLASSIFIERS:
        raise KeyError(f"chapter 5 has no member {family!r} (its members: {', '.join(SUBCLASSIFIERS)})")
    if setting not in SETTINGS:
        raise KeyError(f"chapter 5 has no member setting {setting!r} (its settings: {', '.join(SETTINGS)})")
    return f"{family}-{setting}"


def chapter_runs(profile: str) -> list[dict]:
    """05_abaw5_multitask. The ensemble (five members, one per family, each to the recipe's budget) on
    single-annotator labels (3 seeds on cpu) and on majority labels (1 seed on cpu); at the first seed the
    ensemble with CE alone (no Dice) and with a real bootstrap resample per member, and scheme 2 for 'Other'
    with the ResNet member; Table 3's AU model (cpu: on the common recipe's network; gpu: the paper's three
    backbones), 10 CK+ folds each; the Table 1 analogue on the derived valence/arousal stand-in."""
    r = CHAPTER[check_profile(profile)]

    def cfg(kind, name, seed, **over):
        return {**overrides(PROFILES, profile, kind), "notebook": NOTEBOOK, "name": name, "profile": profile,
                "data": data_for(profile), "seed": seed, **over}

    def sub(family, setting, seed, **over):
        return cfg("expression_subclassifier", run_name(family, setting), seed, arch=member_arch(family, profile),
                   **over)

    runs = []
    for seed in r["seeds"]:
        runs += [sub(f, "single_annotator", seed, labels="single_annotator") for f in SUBCLASSIFIERS]
    for seed in r["majority_seeds"]:
        runs += [sub(f, "majority", seed) for f in SUBCLASSIFIERS]
    seed = r["seeds"][0]
    runs += [sub(f, "ce-only", seed, labels="single_annotator", dice=False) for f in SUBCLASSIFIERS]
    runs += [sub(f, "bootstrap", seed, labels="single_annotator", bootstrap=True) for f in SUBCLASSIFIERS]
    runs.append(sub("resnet", "no-other", seed, labels="single_annotator", scheme="no_other"))
    if profile == "gpu":
        runs += [cfg("au_temporal", run_name("au", arch), seed, arch=arch, au_width=512 if arch == "resnet50" else None)
                 for arch in AU_BACKBONES]
    else:
        runs.append(cfg("au_temporal", run_name("au", AU_COMMON), seed, arch=backbone(profile)))
    runs += [cfg("va_fusion", run_name("va", "fusion"), seed, archs=[member_arch(a, profile) for a in VA_BACKBONES])
             for seed in r["va_seeds"]]
    return runs
