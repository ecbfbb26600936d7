"""The output contract of factsheets: record types, table schemas, settings and errors."""
