"""The organisation's directory: departments, projects and locations, kept by the admin
and the quality manager. Every change goes through the change log."""
