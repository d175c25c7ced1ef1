"""Exploration: strategies that pick actions from values, action noise, their schedules, and
reward bonuses. `config.py` registers them (torch-free); the rest is numpy."""
