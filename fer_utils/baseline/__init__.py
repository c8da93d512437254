"""Chapter 0's common recipe: one network trained with cross-entropy (the fully supervised baseline every
chapter compares with). task.py: its recipe, per-profile overrides and task; cost.py: its estimate; runs.py:
chapter 0's run list."""
