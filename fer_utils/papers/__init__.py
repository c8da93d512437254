"""One folder per paper, named like its chapter (the way USB keeps one folder per algorithm). Each holds
everything about its method:

==========================  =====  =======  ==========================================================
folder                      paper  chapter  what
==========================  =====  =======  ==========================================================
``abaw5_expression``        000    1        frozen-feature baseline, MutexMatch + dynamic adaptive
                                            threshold, the noise-aware model
``cct``                     001    2        Consensual Collaborative Training
``ssl_temporal``            002    3        teacher/student with debiased feedback, temporal encoder,
                                            sliding-window vote (``all_labels``: superseded,
                                            no chapter runs it)
``self_training``           003    4        self-training with successive label smoothing and weights
``abaw5_multitask``         004    5        CE + Dice ensemble with priority rules, temporal AU model,
                                            valence/arousal
==========================  =====  =======  ==========================================================

and in each folder: ``losses.py`` (one function per equation), ``models.py`` (its networks; paper 003 trains the
common network of ``fer_utils.models`` and has none), ``task.py`` (its
recipe dataclass with every knob's default and the paper's value, its per-profile overrides, its ``Method``
for ``train.fit`` and the task that trains a run), ``cost.py`` (its CPU-minute estimate) and ``runs.py``
(its chapter's run list, the only place its run names are made). The common recipe every chapter's
single-network baseline trains with is chapter 0's, in ``fer_utils/baseline``. Importing this package imports
no paper: a run's code key covers only the folder its task imports.
"""
