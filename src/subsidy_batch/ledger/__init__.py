"""The payment record across months: what the county's accepted runs paid and held, read from them
(never a second truth), and what a new month owes against it: changes, arrears, recoveries."""
