"""Term discovery: recurring word-like segments of an archive, grouped into clusters."""
