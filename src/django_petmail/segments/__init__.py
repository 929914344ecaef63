"""Segmentation: the field registry, rule validation and the rule → SQL compiler."""
