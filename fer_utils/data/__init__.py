"""Loaders for the book's datasets (FER+, CK+48) and the papers' real formats (Aff-Wild2/ABAW, RAF-DB,
AffectNet, FER2013 csv). Every loader returns a ``FaceData`` record; bad input raises ``DataError``
naming the file and line; every skipped item is listed in ``record.skipped``."""
from .abaw import load_abaw
from .affectnet import load_affectnet
from .ckplus import load_ckplus
from .ferplus import load_ferplus, load_ferplus_csv
from .io import resolve_root
from .rafdb import load_rafdb
from .record import DataError, FaceData, Skip
from .sampling import ClassBalancedSampler, class_balanced_batches

__all__ = ["ClassBalancedSampler", "class_balanced_batches", "DataError", "FaceData", "Skip", "load_abaw", "load_affectnet", "load_ckplus", "load_ferplus",
           "load_ferplus_csv", "load_rafdb", "resolve_root"]
