"""HTTP handlers of the assets domain."""
