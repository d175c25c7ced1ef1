"""Training loops ("runners"), chosen by an agent's registered `runner` capability."""
