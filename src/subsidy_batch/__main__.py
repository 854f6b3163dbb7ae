"""python -m subsidy_batch runs the command line."""

from subsidy_batch.cli import app

app(prog_name="subsidy")
