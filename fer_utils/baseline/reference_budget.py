"""Protocol 2's reference budget E, chosen on FER+ Valid from the budget sweep (``benchmarks/time_to_accuracy.py
--labels majority single_annotator``): the common recipe at several epoch counts, one seed each, trained on the
clean (majority) and on single-annotator labels. E is the budget where the crowd noise costs the most Valid macro
F1 (the gap between the two) among the budgets whose clean model is within ``within`` of the best clean score and
that fit the compute cap. The test split is never read."""
from __future__ import annotations

import pandas as pd


def sweep_table(majority: dict, single: dict) -> pd.DataFrame:
    """One row per epoch count present in both sweep records: the clean and the noisy model's best FER+ Valid
    macro F1 (flip TTA, the kept epoch), their gap, and the training minutes of each."""
    by = {kind: {row["epochs"]: row for row in record["rows"]} for kind, record in
          (("majority", majority), ("single_annotator", single))}
    epochs = sorted(set(by["majority"]) & set(by["single_annotator"]))
    rows = [{"epochs": e, "clean Valid F1": by["majority"][e]["valid_macro_f1"],
             "single-annotator Valid F1": by["single_annotator"][e]["valid_macro_f1"],
             "gap": by["majority"][e]["valid_macro_f1"] - by["single_annotator"][e]["valid_macro_f1"],
             "clean training min": by["majority"][e]["train_minutes"],
             "single-annotator training min": by["single_annotator"][e]["train_minutes"]} for e in epochs]
    return pd.DataFrame(rows).set_index("epochs")


def choose_reference_budget(table: pd.DataFrame, within: float = 0.01, max_epochs: int | None = None) -> dict:
    """E from a ``sweep_table``: among the epoch counts (at most ``max_epochs``, the compute cap) whose clean
    Valid F1 is within ``within`` of the best, the one with the widest gap (ties: the fewer epochs). Returns
    {"epochs", "gap", "clean", "best_clean", "candidates"}."""
    if table.empty:
        raise ValueError("the budget sweep holds no epoch count trained on both label kinds")
    allowed = table if max_epochs is None else table[table.index <= max_epochs]
    if allowed.empty:
        raise ValueError(f"no swept budget fits the cap of {max_epochs} epochs")
    best = float(allowed["clean Valid F1"].max())
    candidates = allowed[allowed["clean Valid F1"] >= best - within]
    widest = candidates["gap"].max()
    e = int(min(i for i in candidates.index if candidates.loc[i, "gap"] == widest))
    return {"epochs": e, "gap": float(candidates.loc[e, "gap"]), "clean": float(candidates.loc[e, "clean Valid F1"]),
            "best_clean": best, "candidates": [int(i) for i in candidates.index]}


def choose_plateau(rows: list[dict], within: float = 0.01) -> dict:
    """Protocol 2's scarce-label budget from the plateau sweep (``benchmarks/scarce_plateau.py``): the fewest steps
    whose FER+ Valid macro F1 is within ``within`` of the best swept value. rows: dicts with "steps", "epochs"
    and "valid_macro_f1". Returns {"steps", "epochs", "valid_macro_f1", "best", "plateaued"}; "plateaued" is
    False when the choice is the longest swept budget (the curve may still be rising: sweep further)."""
    if not rows:
        raise ValueError("the plateau sweep holds no rows")
    best = max(r["valid_macro_f1"] for r in rows)
    row = min((r for r in rows if r["valid_macro_f1"] >= best - within), key=lambda r: r["steps"])
    longest = max(r["steps"] for r in rows)
    return {"steps": row["steps"], "epochs": row["epochs"], "valid_macro_f1": row["valid_macro_f1"], "best": best,
            "plateaued": row["steps"] < longest}
