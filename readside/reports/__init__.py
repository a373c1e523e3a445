"""Staff reports at /reports/, read from the read models."""
