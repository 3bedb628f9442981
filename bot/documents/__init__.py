"""Documents an insurer hands to a regulator (the hazard ledger, …): laid out from plain facts, in the reader's
language, with no I/O of their own beyond the bytes they return."""
