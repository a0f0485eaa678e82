"""Renderers of histories and reports: terminal text (plain or rich), SVG charts, HTML pages.

They take the pure models of `projections.history` and `projections.period_report` and draw
them; nothing here reads the ledger. Every recorded string passes through `safe` first.
"""
