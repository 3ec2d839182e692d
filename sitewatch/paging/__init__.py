"""Paging: escalation, page text, acknowledge links, the durable outbox and its dispatcher.

Pure decisions live in `escalation`, `render`, `links`, `retry` and `planner`; the
loops that do I/O around them are `escalator`, `dispatcher` and `faults`; `pager`
assembles them for the app. See docs/architecture.md, section "Paging".
"""
