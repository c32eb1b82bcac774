"""A record's change log as its readers read it."""
