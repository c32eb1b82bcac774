"""HTTP handlers of the findings domain."""
