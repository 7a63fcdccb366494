"""Statecraft's smart device: an IoT device that never finishes."""
