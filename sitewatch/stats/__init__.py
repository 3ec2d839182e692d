"""Statistics and metrics: outage figures by period and cause, and the Prometheus export.

`compute` decides what counts (pure); `reader` feeds it from the store; `report`
renders it; `metrics` and `checkmetrics` are the live instruments.
"""
