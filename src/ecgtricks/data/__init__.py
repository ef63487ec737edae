"""Data layer: read records, preprocess, cache, split into folds, serve batches."""

from ecgtricks.data.header import Header, parse_header, read_header
from ecgtricks.data.record import Record, find_records, infer_source, read_record
from ecgtricks.utils.errors import RecordError

__all__ = [
    "Header", "Record", "RecordError", "find_records", "infer_source", "parse_header",
    "read_header", "read_record",
]
