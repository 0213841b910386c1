"""The Dagster wiring of the code location: Definitions, jobs, schedules, sensors and the
command line that runs them. The domain core in ``pipeline/`` never imports from here."""
