"""Probing: when each check runs (`scheduler`) and how it runs (`probe`, `http`).

A probe always comes back with a result; expected failures are values, never raised.
"""
