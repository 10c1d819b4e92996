"""Demonstrations that ship with the package."""
