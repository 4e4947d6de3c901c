"""Index directories, query-by-example, DTW re-ranking, live detection."""
