"""Cutting long recordings into segments: voice activity, dense windows."""
