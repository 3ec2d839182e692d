"""Tickets: the record of an emergency, from opening to resolution.

`rules` decides (pure): what an outage transition does to a ticket, and what an
acknowledgement or a resolution changes. `desk` applies the operators' actions in
transactions, with the pages they cause.
"""
