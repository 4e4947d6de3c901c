"""Segments and sentences -> sharded embedding directories, and long-recording ingestion."""
