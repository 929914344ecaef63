"""Automated sequences: trigger and skip-condition registries, enrollment, step progression."""
