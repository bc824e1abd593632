"""Statistics of the case register with small cells suppressed, and the k-anonymised CTDC export."""
