"""Paper 000 (ABAW5 expression), chapter 1: the frozen-feature baseline, MutexMatch with the dynamic adaptive threshold and the noise-aware model.

losses.py: its equations; models.py: its networks; task.py: its recipe, Method and task; cost.py: its
CPU-minute estimate; runs.py: its chapter's run list."""
