"""Hits in the formats of the tools people review them in: ELAN, Praat, WebVTT, NIST STD."""
