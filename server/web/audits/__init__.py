"""HTTP handlers of the audits domain."""
