"""The version of chaos-outage."""

__version__ = "0.1.0"
