"""Hierarchical learners: options (Sutton, Precup & Singh 1999)."""
