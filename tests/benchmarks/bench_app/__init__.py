"""A minimal model and machine for the runtime benchmarks."""
