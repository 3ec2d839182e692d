"""sitewatch: emergency site-down monitoring and paging."""

__version__ = "0.1.0"
