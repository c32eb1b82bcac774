"""HTTP handlers of the accounts domain."""
