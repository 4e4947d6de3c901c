"""Query-by-example, spoken-term detection and sentence evaluation."""
