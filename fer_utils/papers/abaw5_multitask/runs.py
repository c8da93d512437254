"""Chapter 5's run list (paper 004): Table 2 (the five sub-classifiers of the ensemble), its ablations, Table 3
(the AU model on three feature backbones) and the valence/arousal runs. The only place chapter 5's run names
are made (``run_name``)."""
from __future__ import annotations

from ...profiles import check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "05_abaw5_multitask"

SUBCLASSIFIERS = ("resnet18", "resnet50", "mobilenet_v2", "densenet121", "regnet_y_800mf")
AU_BACKBONES = ("resnet50", "regnet_y_400mf", "regnet_y_800mf")
VA_BACKBONES = ("resnet50", "regnet_y_400mf", "efficientnet_b0")  # method notes B-004.2
# The cpu profile's compact member of each family (benchmarks/backbone_sweep.py: stride-2 stems; ResNet-50's
# bottleneck net is replaced by the wider compact ResNet-18, which is 10x cheaper than ResNet-50 at stride 2).
# Run names keep the family; the config's "arch" is the network that was trained.
CPU_MEMBERS = {"resnet18": "resnet18_w16_s2", "resnet50": "resnet18_w32_s2", "mobilenet_v2": "mobilenet_v2_s2",
               "densenet121": "densenet_k12_s2", "regnet_y_800mf": "regnet_y_400mf_s2",
               "regnet_y_400mf": "regnet_y_400mf_s2", "efficientnet_b0": "efficientnet_b0_s2"}

# Recipe overrides per profile (checked against each task's recipe at import): expressions Adam lr 5e-4, 20
# epochs, best epoch on validation (paper); cpu: 2 epochs per member (the members differ 10x in speed:
# benchmarks/backbone_sweep.py), AU model as on the gpu, VA heads 15 epochs instead of 50 (the VA run within 15
# CPU minutes, the book within its 10 hours; in the 50-epoch cpu run va-fusion-55c77375d8f0, stored at commit
# 4c47414, the best validation CCC of the first 15 epochs was within 0.005 of the best of 50 for each head variant).
_TINY = dict(epochs=1, batch_size=8, steps_per_epoch=1, lr=5e-4, weight_decay=1e-4)


def _rows(expression, pretrain, au_model, va_heads):
    return {"expression_subclassifier": dict(task="expression_subclassifier", train=expression),
            "au_temporal": dict(task="au_temporal", pretrain=pretrain, au_model=au_model),
            "va_fusion": dict(task="va_fusion", pretrain=pretrain, heads=va_heads)}


PROFILES = check_profiles({
    "smoke": _rows(_TINY, _TINY, dict(epochs=2, batch_size=4, lr=1e-3), dict(epochs=2, batch_size=64)),
    "cpu":   _rows(dict(epochs=2, batch_size=128, lr=1e-3, weight_decay=1e-4),
                   dict(epochs=2, batch_size=128, steps_per_epoch=160, lr=1e-3, weight_decay=1e-4),
                   dict(), dict(epochs=15)),
    "gpu":   _rows(dict(epochs=20, batch_size=256, lr=5e-4, weight_decay=1e-4, compile=True),
                   dict(epochs=20, batch_size=256, lr=5e-4, weight_decay=1e-4, compile=True), dict(), dict()),
}, NOTEBOOK)
CHAPTER = {"smoke": dict(seeds=[0]), "cpu": dict(seeds=[0, 1, 2], va_seeds=[0]), "gpu": dict(seeds=[0, 1, 2])}


def budget(profile: str) -> dict:
    """This profile's chapter knobs and recipe overrides (what the chapter's prose quotes)."""
    check_profile(profile)
    return {"data": data_for(profile), **CHAPTER[profile],
            "recipes": {k: overrides(PROFILES, profile, k) for k in PROFILES[profile]}}


def member_arch(family: str, profile: str) -> str:
    """The network a run named after ``family`` trains: the family's paper-scale net on the gpu profile,
    its compact CPU_MEMBERS entry on cpu and smoke."""
    return family if check_profile(profile) == "gpu" else CPU_MEMBERS[family]


def run_name(family: str, setting: str) -> str:
    """A chapter-5 run name: a member ``family`` (SUBCLASSIFIERS) with its labels or ablation ("majority",
    "single_annotator", "no-dice", "bootstrap", "no-other"); "au" with an AU backbone; "va" with "fusion"."""
    if family == "au":
        if setting not in AU_BACKBONES:
            raise KeyError(f"chapter 5 has no AU backbone {setting!r} (its backbones: {', '.join(AU_BACKBONES)})")
        return f"au-{setting}"
    if family == "va":
        return f"va-{setting}"
    if family not in SUBCLASSIFIERS:
        raise KeyError(f"chapter 5 has no member {family!r} (its members: {', '.join(SUBCLASSIFIERS)})")
    return f"{family}-{setting}"


def chapter_runs(profile: str) -> list[dict]:
    """05_abaw5_multitask: Table 2 (five sub-classifiers on majority labels, 3 seeds; on single-annotator
    labels, 1 seed), Dice off (1 seed), one bootstrap-resampled ResNet-18, scheme 2 for 'Other' with
    ResNet-18; Table 3 (three AU feature backbones, 10 CK+ folds each); the Table 1 analogue on the derived
    valence/arousal stand-in (three fused backbones, every seed)."""
    r = CHAPTER[check_profile(profile)]
    smoke = profile == "smoke"

    def cfg(kind, name, seed, **over):
        return {**overrides(PROFILES, profile, kind), "notebook": NOTEBOOK, "name": name, "profile": profile,
                "data": data_for(profile), "seed": seed, **over}

    def sub(family, setting, seed, **over):
        return cfg("expression_subclassifier", run_name(family, setting), seed, arch=member_arch(family, profile),
                   **over)

    runs = []
    for seed in r["seeds"]:
        runs += [sub(arch, "majority", seed) for arch in SUBCLASSIFIERS]
    seed = r["seeds"][0]
    if not smoke:
        runs += [sub(arch, "single_annotator", seed, labels="single_annotator") for arch in SUBCLASSIFIERS]
    runs += [sub(arch, "no-dice", seed, dice=False)
             for arch in (SUBCLASSIFIERS[:3:2] if smoke else SUBCLASSIFIERS if profile == "gpu" else SUBCLASSIFIERS[:1])]
    runs += [sub("resnet18", "bootstrap", seed, bootstrap=True), sub("resnet18", "no-other", seed, scheme="no_other")]
    runs += [cfg("au_temporal", run_name("au", arch), seed, arch=member_arch(arch, profile),
                 au_width=512 if arch == "resnet50" else None)
             for arch in AU_BACKBONES if profile != "cpu" or arch != "regnet_y_800mf"]  # cpu: one RegNet
    runs += [cfg("va_fusion", run_name("va", "fusion"), seed, archs=[member_arch(a, profile) for a in VA_BACKBONES])
             for seed in r.get("va_seeds", r["seeds"])]
    return runs
