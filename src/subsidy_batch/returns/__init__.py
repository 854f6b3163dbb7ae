"""Bank result files (回盘): parse them by the layout's return declaration, check them against the batch
they answer, record them next to the run, and list them for the ledger (`returns_of`)."""
