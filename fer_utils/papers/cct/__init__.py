"""Paper 001 (Consensual Collaborative Training), chapter 2.

losses.py: its equations; models.py: its networks; task.py: its recipe, Method and task; cost.py: its
CPU-minute estimate; runs.py: its chapter's run list."""
