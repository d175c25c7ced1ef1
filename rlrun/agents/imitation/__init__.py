"""Learning from demonstrations: inverse RL (maximum causal entropy, tabular and deep)."""
