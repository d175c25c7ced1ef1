"""Tabular learners in numpy: a Q table indexed by Discrete observations."""
