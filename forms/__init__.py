"""The ministry's survey guidelines (XLSForms), their compiler and field trees (no Flask, no database)."""
from pathlib import Path

#: The XLSForms shipped with the product, published by `make serve`.
BUNDLED_FORMS_DIR = Path(__file__).parent / "xlsforms"
#: Form media (CSV lists of provinces, districts, countries) shipped with the forms.
BUNDLED_MEDIA_DIR = Path(__file__).parent / "media"
