"""Every loss, threshold and update rule of the papers, one function per equation, one module per method:

* ``common``        — plain cross-entropy (the supervised baseline)
* ``cct``           — Consensual Collaborative Training (paper 001): Eq. 1-4
* ``mutexmatch``    — MutexMatch with the dynamic adaptive threshold (paper 000): Eq. 1-4
* ``noise_aware``   — weighted CE, batch class thresholds, attention consistency (paper 000): Eq. 5-6
* ``feedback_ssl``  — teacher/student pretraining with debiased feedback (paper 002): Eq. 1-6
* ``self_training`` — successive label smoothing and sample weights (paper 003): Eq. 2-8
* ``abaw5_multitask`` — CE + Dice, sigmoid focal loss, polarity labels and CCC loss (paper 004)

A training loss plugs into ``fer_utils.train.fit`` as ``loss_fn(outputs, batch, epoch)`` returning a scalar
or ``(scalar, {name: value})`` of the terms to log.
"""
from .abaw5_multitask import ccc_loss, ce_dice_loss, polarity_labels, sigmoid_focal_loss, soft_dice_loss
from .cct import cct_consistency_loss, cct_lambda, cct_loss, cct_supervision_loss
from .common import supervised_ce
from .feedback_ssl import (feedback_coefficient, student_pseudo_label_loss, teacher_consistency_loss,
                           teacher_feedback_loss, teacher_loss, teacher_supervised_loss)
from .mutexmatch import confident_mask, dynamic_adaptive_threshold, mutexmatch_losses
from .noise_aware import attention_consistency, batch_class_thresholds, clean_mask, rank_regularization, weighted_ce
from .self_training import (sample_weight_update, smooth_labels, soft_cross_entropy, successive_label_update,
                            validation_loss_rising, weighted_soft_ce)

__all__ = ["ccc_loss", "ce_dice_loss", "polarity_labels", "sigmoid_focal_loss", "soft_dice_loss",
           "attention_consistency", "batch_class_thresholds", "cct_consistency_loss", "cct_lambda", "cct_loss",
           "cct_supervision_loss", "clean_mask", "feedback_coefficient", "student_pseudo_label_loss",
           "teacher_consistency_loss", "teacher_feedback_loss", "teacher_loss", "teacher_supervised_loss", "confident_mask", "dynamic_adaptive_threshold",
           "mutexmatch_losses", "rank_regularization", "sample_weight_update", "smooth_labels",
           "soft_cross_entropy", "successive_label_update", "supervised_ce", "validation_loss_rising",
           "weighted_ce", "weighted_soft_ce"]
