"""Measuring what ships: MACs, latency, reports. Reads models and artifacts, never changes them."""
