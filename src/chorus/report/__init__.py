"""Reports: the findings as one self-contained HTML file, and every table as CSV and XLSX."""

from chorus.report.build import Report, build, save_table, tables, themes_table, write_tables
from chorus.report.manuscript import manuscript

__all__ = ["Report", "build", "manuscript", "save_table", "tables", "themes_table", "write_tables"]
