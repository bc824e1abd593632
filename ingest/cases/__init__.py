"""The case register, hand-off tasks between provinces, and retention of closed cases."""
