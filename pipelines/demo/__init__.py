"""Demo corpora made locally: synthesised words, Asterisk prompts, sentences."""
