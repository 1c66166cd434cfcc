"""Reports for the panel and the regency/province offices: `coverage` (the coverage report) and
`models` (the running counts PostgreSQL keeps for it)."""
