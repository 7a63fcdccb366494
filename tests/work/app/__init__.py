"""A batch-job app for the work tests: its task succeeds, fails once, or always fails, on request."""
