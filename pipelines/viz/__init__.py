"""Embedding maps and training curves."""
