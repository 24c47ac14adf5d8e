"""Standalone ground truth: the GT file format, recipes and the resumable builder."""
