"""Gymnasium environments for GUI agents: browser (Playwright) and desktop (Xvfb)."""
