"""Reporting: report runs (CSV files made by background jobs), monthly statements and CSV exports."""
