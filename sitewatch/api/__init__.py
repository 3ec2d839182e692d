"""The HTTP API: JSON in and out, bearer tokens, errors as `{"error": ...}`.

Routes are in `routes.py`. This file imports nothing, so that importing one part of
the package (the body models, say) does not import every handler with it.
"""
