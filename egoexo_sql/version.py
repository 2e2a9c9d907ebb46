"""The version of egoexo-sql (build.json and views.sql record it)."""

__version__ = "0.1.0"
