"""What each paper reports, typed in once: the chapters and chapter 6 read these tables (never retype a
number). Each table names the paper, its table and what the numbers are; rows are keyed as the chapter's
table rows are. Values are as printed in the paper (percent where the paper prints percent)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PaperTable:
    paper: str                  # "000" .. "004" (../shared/papers)
    table: str                  # where in the paper, e.g. "Table 1"
    what: str                   # metric, unit, data split
    rows: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.rows[key]

    def __iter__(self):
        return iter(self.rows)

    def items(self):
        return self.rows.items()

    def scores(self, key) -> dict:
        """A row given as (F1, accuracy, overall) as the {metric: value} a comparison table takes."""
        return dict(zip(("macro_f1", "accuracy", "abaw_overall"), self.rows[key]))

    @property
    def source(self) -> str:
        return f"paper {self.paper}, {self.table} ({self.what})"


# paper 000: ABAW5 expression (fully supervised / MutexMatch + DAT / noise-aware)
P000_T1 = PaperTable("000", "Table 1", "Exp-F1 %, Aff-Wild2 validation",
                     {"baseline": 23.0, "resnet18": 32.34, "mutexmatch": 32.82, "noise-aware": 33.46})

# paper 001: CCT; (macro F1, accuracy, overall = 0.67 F1 + 0.33 accuracy), Aff-Wild2 validation
P001_T1 = PaperTable("001", "Table 1", "F1, accuracy, overall; Aff-Wild2 validation",
                     {"baseline": {"macro_f1": 0.30, "accuracy": 0.50, "abaw_overall": 0.366},
                      "cct": {"macro_f1": 0.4040, "accuracy": 0.6378, "abaw_overall": 0.4814}})
P001_T3 = PaperTable("001", "Table 3", "(F1, accuracy, overall) by the number of networks K",
                     {1: (0.3311, 0.5705, 0.41), 2: (0.3744, 0.621, 0.456), 3: (0.4040, 0.6378, 0.4814),
                      4: (0.366, 0.613, 0.447)})
P001_T4 = PaperTable("001", "Table 4", "(F1, accuracy, overall) by the pretraining dataset",
                     {"MS-Celeb-1M": (0.378, 0.609, 0.454), "RAF-DB": (0.383, 0.615, 0.460),
                      "AffectNet": (0.4040, 0.6378, 0.4814)})
P001_T5 = PaperTable("001", "Table 5", "(F1, accuracy, overall) without and with oversampling (MS-Celeb-1M init)",
                     {"without": (0.378, 0.609, 0.454), "with": (0.357, 0.58, 0.43)})
P001_T6 = PaperTable("001", "Table 6", "(F1, accuracy, overall) by the loss (MS-Celeb-1M init)",
                     {"CE": (0.3634, 0.610, 0.445), "CE + consistency": (0.378, 0.609, 0.454)})
P001_T7 = PaperTable("001", "Table 7", "(F1, accuracy, overall) by the ramp-up exponent beta",
                     {0.1: (0.352, 0.593, 0.432), 0.65: (0.378, 0.609, 0.454), 1.0: (0.390, 0.6378, 0.472),
                      1.5: (0.378, 0.6269, 0.460), 2.0: (0.3969, 0.6160, 0.469), 3.0: (0.4051, 0.6226, 0.4769),
                      4.0: (0.4040, 0.6378, 0.4814), 5.0: (0.3931, 0.6387, 0.4742)})

# paper 002: ABAW6 semi-supervised pretraining + temporal encoder
P002_T1 = PaperTable("002", "Table 1", "Exp-F1 %, Aff-Wild2 validation",
                     {"baseline": 27.65, "SSL": 40.96, "SSL + more data": 41.57, "SSL + temporal": 43.77,
                      "SSL + temporal + post-process": 45.43})

# paper 003: self-training with successive label smoothing and sample weights; accuracy %
P003_T1 = PaperTable("003", "Table I", "accuracy % for (none, ST, SW, ST + SW)",
                     {"CK+ (paper)": (99.19, 99.19, 99.27, 99.43), "RAF (paper)": (83.44, 83.6, 83.83, 84.61),
                      "AffectNet (paper)": (55.48, 56.62, 57.31, 57.37)})
P003_T3 = PaperTable("003", "Table III", "cross-dataset accuracy % for (none, ST, ST + SW)",
                     {"CK+ → RAF (paper)": (46.15, 45.79, 48.45), "CK+ → AffectNet (paper)": (38.56, 38.82, 39.87),
                      "RAF → CK+ (paper)": (72.49, 71.35, 73.26), "AffectNet → CK+ (paper)": (82.92, 86.48, 87.37)})

# paper 004: ABAW5 multi-task. Table 2 numbers its sub-classifiers 1-5 without saying which network each is
# (the text lists resnet18, resnet152, mobilenet_v2, densenet121, densenet201): chapter 5 does not map them.
P004_T1 = PaperTable("004", "Table 1", "CCC x 100 (valence, arousal), Aff-Wild2 validation",
                     {"fusion": (25.7, 38.3), "single": (22.0, 24.0)})
P004_T2 = PaperTable("004", "Table 2", "(accuracy, F1), Aff-Wild2 validation",
                     {"Sub-Classifier 1": (0.4454, 0.2890), "Sub-Classifier 2": (0.4462, 0.2833),
                      "Sub-Classifier 3": (0.4321, 0.2792), "Sub-Classifier 4": (0.4332, 0.2941),
                      "Sub-Classifier 5": (0.4367, 0.2857), "Meta-Classifier": (0.4618, 0.3024)})
P004_T3 = PaperTable("004", "Table 3", "mean AU F1, Aff-Wild2 validation, by feature backbone",
                     {"baseline": 0.39, "resnet50": 0.5591, "regnet_y_400mf": 0.6813, "regnet_y_800mf": 0.6983})

TABLES = {name: value for name, value in globals().items() if isinstance(value, PaperTable)}
