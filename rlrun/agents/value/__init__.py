"""Value-based deep RL: DQN and its improvements."""
