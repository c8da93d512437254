"""Assert on the values the smoke-profile notebooks glued (run by .ci/run after papermill).

usage: python .ci/check_notebooks.py EXECUTED_DIR
"""
import ast
import json
import sys
from pathlib import Path


def glued(path: Path) -> dict:
    values = {}
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise SystemExit(f"{path.name}: a cell raised {out.get('ename')}: {out.get('evalue')}")
            meta = out.get("metadata", {}).get("scrapbook")
            if meta:
                text = out["data"][meta["mime_prefix"] + "text/plain"]
                try:
                    values[meta["name"]] = ast.literal_eval(text)
                except (ValueError, SyntaxError):  # text glued without quotes (fer_utils.report.Text)
                    values[meta["name"]] = text
    return values


def between(lo, hi):
    return lambda v: lo <= v <= hi


# expectations per notebook on the bundled sample (smoke profile)
EXPECT = {
    "00_data": {"n_train": 200, "n_valid": 58, "n_test": 58, "n_unlabelled_train": 8, "n_ckplus": 42,
                "single_annotator_noise": between(0.05, 0.6), "plurality_disagreement": between(0.05, 0.6),
                "baseline_majority_f1": between(0.0, 1.0), "baseline_single_annotator_f1": between(0.0, 1.0),
                "baseline_majority_acc": between(0.0, 1.0), "cpu_backbone_img_per_s": between(300, 5000),
                "baseline_time_to_accuracy": lambda v: "test accuracy in" in v,
                "baseline_crowd_gap": between(-1.0, 1.0), "scarce_steps": lambda v: v > 0},
    "01_abaw5_expression": {"abaw5_pool_10pct": between(150, 200), "abaw5_dat_example": 0.5209,
                            "abaw5_runs_stored": 8, "abaw5_resnet18_f1": between(0.0, 1.0),
                            "abaw5_noise_aware_f1": between(0.0, 1.0), "abaw5_mutexmatch_10pct_f1": between(0.0, 1.0),
                            "abaw5_baseline_f1": between(0.0, 1.0), "abaw5_alpha_auc": between(0.0, 1.0)},
    "02_cct": {"cct_noise_rate": between(0.05, 0.6), "cct_example_loss": 0.8043, "cct_lambda_first": 0.0165,
               "cct_runs_stored": 8, "baseline_f1": between(0.0, 1.0), "cct_f1": between(0.0, 1.0),
               "cct_refused_noisy": between(0.0, 1.0)},
    "03_ssl_temporal": {"ssl_n_labelled": 16, "ssl_segment_mean": between(5.0, 40.0), "ssl_teacher_loss_example": 2.2527,
                        "ssl_vote_example": [4, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1], "ssl_runs_stored": 6,
                        "ssl_more_f1": between(0.0, 1.0), "ssl_temporal_clip_f1": between(0.0, 1.0),
                        "ssl_baseline_f1": between(0.0, 1.0), "ssl_best_window": lambda w: w in (1, 5, 10, 20, 30, 60)},
    "05_abaw5_multitask": {"mt_ck_sequences": 14, "mt_dice_example": 0.3333, "mt_focal_example": 0.13,
                           "mt_meta_example": ["anger", "neutral", "disgust", "fear", "happiness"], "mt_runs_stored": 23,
                           "mt_meta_f1": between(0.0, 1.0), "mt_other_threshold": between(0.3, 0.6),
                           "mt_au_best": between(0.0, 1.0), "mt_va_n_targets": 200, "mt_va_max_abs": between(0.3, 0.87),
                           "mt_va_fusion_ccc": between(-1.0, 1.0), "mt_va_via_expression_ccc": between(-1.0, 1.0)},
    "06_leaderboard": {"lb_rows": 10, "lb_rows_with_runs": between(3, 12), "lb_claims_reproduced": between(0, 5),
                       "lb_claims_no_verdict": between(0, 5), "lb_claims_inconclusive": between(0, 5),
                       "lb_claims_opposite": between(0, 5), "lb_best_single_f1": lambda v: isinstance(v, (str, float)),
                       "lb_best_majority_method": lambda v: isinstance(v, str),
                       "lb_noise_drop_baseline": lambda v: isinstance(v, str) and v != ""},
    "04_self_training": {"st_ckplus_folds": 10, "st_pool_size": 200, "st_smooth_off": 0.0071,
                         "st_smooth_off_common": 0.0125, "st_update_off": 0.0429,
                         "st_dw_example": 0.7235, "st_runs_stored": 11, "st_ferplus_none_acc": between(0.0, 1.0),
                         "st_ferplus_st_sw_acc": between(0.0, 1.0), "st_ckplus_st_sw_acc": between(0.0, 1.0),
                         "st_weights_n": between(150, 200), "st_kl_none": between(0.0, 30.0)},
}


def main(folder: str) -> int:
    failures = []
    notebooks = sorted(Path(folder).glob("*.ipynb"))
    for nb in notebooks:
        values = glued(nb)
        expect = EXPECT.get(nb.stem)
        if expect is None:
            failures.append(f"{nb.name}: no expectations in .ci/check_notebooks.py")
            continue
        for name, want in expect.items():
            if name not in values:
                failures.append(f"{nb.name}: nothing glued as {name!r}")
            elif callable(want) and not want(values[name]) or not callable(want) and values[name] != want:
                failures.append(f"{nb.name}: {name} = {values[name]!r}, expected {want if not callable(want) else 'in range'}")
        print(f"{nb.name}: {len(values)} glued values checked")
    for f in failures:
        print("FAIL", f)
    bad = len({f.split(":")[0] for f in failures})
    print(f"notebook glue checks: {len(notebooks) - bad} of {len(notebooks)} notebooks as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
