"""Reading records: descriptions shaped like ODK Central's, answer conditions, review and comments."""
