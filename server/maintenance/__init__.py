"""Operating a deployment: the full integrity check behind `auditrail log verify`,
backup and restore. Above every domain (it reads their tables and files), below the CLI."""
