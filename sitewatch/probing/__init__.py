"""Probing: when each check runs (`scheduler`) and how it runs (`probe`, `http`).

The HTTP logon probe reads top-down: `http` sends each step's `request`, follows
`redirects`, reads the `body`; `verdict` judges the answer, `attempt` records it,
`excerpt` quotes a body and `patterns` are the check's extract regexes (RE2).
A probe always comes back with a result; expected failures are values, never raised.
"""
