"""Network building blocks: encoders (observations to features), heads (Q, actor-critic,
critics), and the one optimizer step and target-network update every agent uses. `config.py`
registers the encoders (torch-free)."""
