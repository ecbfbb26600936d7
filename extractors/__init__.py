"""Plain functions that turn a factsheet PDF into blocks and entities."""

PIPELINE_VERSION = "0.1.0"
