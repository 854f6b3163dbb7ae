"""Runs as financial records: the lifecycle, the store of accepted runs, audit log and verify."""
