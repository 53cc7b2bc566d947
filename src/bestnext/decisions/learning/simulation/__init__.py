"""The simulator: a synthetic bank, hidden truths, and the policies compared on it."""
