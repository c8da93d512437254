"""Every loss, threshold and schedule of the papers, one function per equation, one module per paper:

* ``common`` — plain cross-entropy (the supervised baseline)
* ``cct``    — Consensual Collaborative Training (paper 001): Eq. 1-4

A training loss plugs into ``fer_utils.train.fit`` as ``loss_fn(outputs, batch, epoch)`` returning a scalar
or ``(scalar, {name: value})`` of the terms to log.
"""
from .cct import cct_consistency_loss, cct_lambda, cct_loss, cct_supervision_loss
from .common import supervised_ce

__all__ = ["cct_consistency_loss", "cct_lambda", "cct_loss", "cct_supervision_loss", "supervised_ce"]
