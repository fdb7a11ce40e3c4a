"""Jinja2 templates of the HTML report (package data, found the same way in a wheel and a checkout)."""
