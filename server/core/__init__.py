"""What every part builds on: settings, the clock, languages, errors, reading input
and the Jinja environment. Imports nothing of the domains."""
