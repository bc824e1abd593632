"""The guidelines on paper: handbooks, paper forms and course kits printed from the XLSForms (no Flask, no database)."""
