"""Encrypted forms: a form's key pair, and opening its sealed submissions once an administrator unlocks the key."""
