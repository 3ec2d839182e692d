"""The JSON bodies of the HTTP API, each defined once as a pydantic model.

`fields` holds the field types the bodies share (times, notes, limits, cursors),
each validating with the message the API answers; `requests` the bodies and query
strings the API reads; `responses` the bodies it answers; `problems` turns
pydantic's errors into the one-sentence `{"error": ...}` of a 400. The OpenAPI
document (`api/openapi.py`) is generated from these same models.
"""
