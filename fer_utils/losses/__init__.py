"""Every loss, threshold and update rule of the papers, one function per equation: the package's public API
(``from fer_utils.losses import cct_loss``). Each lives in its paper's folder:

* ``losses.common``                      — plain cross-entropy (the supervised baseline)
* ``papers.abaw5_expression.losses``     — MutexMatch + dynamic adaptive threshold (Eq. 1-4), weighted CE,
                                           batch class thresholds, attention consistency (Eq. 5-6) (paper 000)
* ``papers.cct.losses``                  — Consensual Collaborative Training, Eq. 1-4 (paper 001)
* ``papers.ssl_temporal.losses``         — teacher/student with debiased feedback, Eq. 1-6 (paper 002)
* ``papers.self_training.losses``        — successive label smoothing and sample weights, Eq. 2-8 (paper 003)
* ``papers.abaw5_multitask.losses``      — CE + Dice, sigmoid focal loss, polarity labels, CCC loss (paper 004)

A plain training loss plugs into ``fer_utils.train.fit`` as ``loss(outputs, batch, epoch)`` returning a scalar
or ``(scalar, {name: value})`` of the terms to log (``train.Method``).
"""
from ..papers.abaw5_expression.losses import (attention_consistency, batch_class_thresholds, clean_mask, confident_mask,
                                              dynamic_adaptive_threshold, mutexmatch_losses, rank_regularization,
                                              weighted_ce)
from ..papers.abaw5_multitask.losses import ccc_loss, ce_dice_loss, polarity_labels, sigmoid_focal_loss, soft_dice_loss
from ..papers.cct.losses import cct_consistency_loss, cct_lambda, cct_loss, cct_supervision_loss
from ..papers.self_training.losses import (sample_weight_update, smooth_labels, soft_cross_entropy,
                                           successive_label_update, validation_loss_rising, weighted_soft_ce)
from ..papers.ssl_temporal.losses import (feedback_coefficient, student_pseudo_label_loss, teacher_consistency_loss,
                                          teacher_feedback_loss, teacher_loss, teacher_supervised_loss)
from .common import supervised_ce

__all__ = ["ccc_loss", "ce_dice_loss", "polarity_labels", "sigmoid_focal_loss", "soft_dice_loss",
           "attention_consistency", "batch_class_thresholds", "cct_consistency_loss", "cct_lambda", "cct_loss",
           "cct_supervision_loss", "clean_mask", "feedback_coefficient", "student_pseudo_label_loss",
           "teacher_consistency_loss", "teacher_feedback_loss", "teacher_loss", "teacher_supervised_loss", "confident_mask", "dynamic_adaptive_threshold",
           "mutexmatch_losses", "rank_regularization", "sample_weight_update", "smooth_labels",
           "soft_cross_entropy", "successive_label_update", "supervised_ce", "validation_loss_rising",
           "weighted_ce", "weighted_soft_ce"]
