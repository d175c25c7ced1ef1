"""Off-policy actor-critics for Box actions: DDPG, TD3, SAC."""
