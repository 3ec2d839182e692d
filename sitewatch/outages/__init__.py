"""Outages: from probe results to check states, outages, planned events and tickets.

The rules are pure (`rules`, `windows`, `recurrence`, `tickets`, `proberfault`);
`monitor` is the I/O shell that applies them to each result and commits what they
decide.
"""
