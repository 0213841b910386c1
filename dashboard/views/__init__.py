"""One module per page of the dashboard; each exposes render()."""
