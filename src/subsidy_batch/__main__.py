"""python -m subsidy_batch runs the command line."""

from subsidy_batch.cli import main

main()
