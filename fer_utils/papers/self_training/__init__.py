"""Paper 003 (self-training with successive label smoothing and sample weights), chapter 4.

losses.py: its equations; models.py: its networks; task.py: its recipe, Method and task; cost.py: its
CPU-minute estimate; runs.py: its chapter's run list."""
