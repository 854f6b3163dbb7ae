"""Reading a clerk's roster, normalising it and checking every row against schemas/."""
