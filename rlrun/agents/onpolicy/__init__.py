"""On-policy policy-gradient learners: REINFORCE, A2C, PPO, on one rollout-and-update base."""
