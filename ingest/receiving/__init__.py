"""Receiving a submission exactly once: raw first, then its normalised rows, and replaying them."""
