"""Paper 002 (semi-supervised teacher/student pretraining with debiased feedback, temporal encoder, sliding-window vote), chapter 3.

losses.py: its equations; models.py: its networks; task.py: its recipe, Method and task; cost.py: its
CPU-minute estimate; runs.py: its chapter's run list."""
