"""Rebuild the shipped person model: `python -m ingest.persons.matching train RECORDS.csv [MODEL.json]`."""

import sys

from ingest.persons.matching.linkage import MODEL_PATH, save_model
from ingest.persons.matching.records import read_records

if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] != "train":
        sys.exit(__doc__)
    save_model(read_records(sys.argv[2]), sys.argv[3] if len(sys.argv) == 4 else MODEL_PATH)
