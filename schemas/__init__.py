"""Record types and table schemas: the output contract of factsheets."""
