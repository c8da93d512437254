"""Semi-supervised pretraining with debiased feedback (paper 002, §3.3), Eq. 1-6: a teacher labels
unlabelled faces for a student; the teacher learns from labelled FER data (Eq. 3), from its own consistency
under augmentation (Eq. 4) and from feedback on how its pseudo-labels changed the student (Eq. 5-6).

Names: z = logits (B, K); "_weak" / "_strong" = the teacher's or student's output on the weak / strong
view of the same unlabelled faces. ``sg`` (stop-gradient) is ``.detach()``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def student_pseudo_label_loss(student_strong: torch.Tensor, teacher_weak: torch.Tensor) -> torch.Tensor:
    """Paper 002 Eq. 1: L_u = CE(y_hat, S(x_FR)) with the teacher's hard pseudo-label
    y_hat = argmax sg(T(weak x_FR)) and the student's logits on the strong view (method notes B-002.2).
    (B, K), (B, K) -> scalar (batch mean)."""
    return F.cross_entropy(student_strong.float(), teacher_weak.detach().argmax(1))


def teacher_supervised_loss(teacher_labelled: torch.Tensor, labels: torch.Tensor,
                            label_smoothing: float = 0.0) -> torch.Tensor:
    """Paper 002 Eq. 3: L_s = CE(y_FER, T(x_FER)) on the class-balanced labelled batch; ``label_smoothing``: the
    book's common recipe smooths every labelled CE term (0 = the paper's). (B, K), (B,) -> scalar."""
    return F.cross_entropy(teacher_labelled.float(), labels, label_smoothing=label_smoothing)


def teacher_consistency_loss(teacher_weak: torch.Tensor, teacher_strong: torch.Tensor) -> torch.Tensor:
    """Paper 002 Eq. 4: L_c = CE(T(x_FR), T(Aug(x_FR))), read as in Face2Exp (method notes A5, B-002.2): the
    target is the soft distribution softmax(sg(T(weak))) (temperature 1, no confidence mask), the prediction
    T(strong). (B, K), (B, K) -> scalar: mean_i -sum_k q_ik log p_ik."""
    target = teacher_weak.detach().float().softmax(1)
    return -(target * F.log_softmax(teacher_strong.float(), 1)).sum(1).mean()


def feedback_coefficient(student_loss_before: torch.Tensor, student_loss_after: torch.Tensor) -> torch.Tensor:
    """Paper 002 Eq. 6, first-order form (method notes A5, B-002.1): f = L_FER(theta_S^t) - L_FER(theta_S^{t+1}),
    the student's CE on the same labelled batch before minus after its update on the teacher's
    pseudo-labels. By a first-order Taylor expansion this equals eta_S times the dot product of Eq. 6 (the
    learning rate is folded in). Sign: f > 0 when the pseudo-labels made the student better on the
    labelled (debiased, class-balanced) data. Scalars -> a detached scalar."""
    return (student_loss_before - student_loss_after).detach().float()


def teacher_feedback_loss(teacher_strong: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Paper 002 Eq. 5: L_f = f * CE(y_hat_FR, T(x_FR)) with y_hat_FR = argmax sg(T(strong x_FR)): with f > 0
    the teacher is pushed towards its own pseudo-label, with f < 0 away from it. The gradient flows through
    the logits (only the target is detached). (B, K), scalar -> scalar."""
    return f * F.cross_entropy(teacher_strong.float(), teacher_strong.detach().argmax(1))


def teacher_loss(teacher_labelled, labels, teacher_weak, teacher_strong, f, feedback: bool = True,
                 label_smoothing: float = 0.0) -> dict:
    """Paper 002 Eq. 2: L_T = L_s + L_c + L_f (all weights 1, method notes B-002.3); ``feedback=False``
    drops L_f (the ablation); ``label_smoothing`` applies to L_s. Returns {"total", "sup", "cons", "feedback"}."""
    sup = teacher_supervised_loss(teacher_labelled, labels, label_smoothing)
    cons = teacher_consistency_loss(teacher_weak, teacher_strong)
    fb = teacher_feedback_loss(teacher_strong, f) if feedback else torch.zeros((), device=sup.device)
    return {"total": sup + cons + fb, "sup": sup.detach(), "cons": cons.detach(), "feedback": fb.detach()}
