"""HTTP handlers of the directory (departments, projects, locations)."""
