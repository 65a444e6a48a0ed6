"""Storybank domain: stories, consent, people and the working store (importable without Flask)."""
