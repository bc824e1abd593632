"""Web users, their sessions and API tokens, the sign-in limits, and devices with their tokens."""
