"""Derivative-free policy search: candidates scored by their episodes' returns."""
