"""Environments: the vector-env builder every run uses (`vector.py`), the kinds of space the
capability checks know (`spaces.py`), and the envs rlrun ships, registered as rlrun/<Name>-v0."""
