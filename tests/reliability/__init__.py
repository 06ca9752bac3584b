"""Reliability tests: injected publisher faults, crash safety and bad input."""
