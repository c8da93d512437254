"""Paper 004 (ABAW5 multi-task: CE + Dice ensemble with priority rules, temporal AU model, valence/arousal), chapter 5.

losses.py: its equations; models.py: its networks; task.py: its recipe, Method and task; cost.py: its
CPU-minute estimate; runs.py: its chapter's run list."""
