"""Toy GUI tasks drawn with Pillow (fast, no browser)."""
