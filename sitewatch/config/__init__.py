"""Configuration: sitewatch.yaml and the check files, parsed once into frozen settings.

`loader` reads the files and reports every problem as `FILE:LINE: key.path: message`;
`settings` is the frozen result everyone else reads; `checks`, `schedules`,
`recurring` and `notify` are the sections with rules of their own; `schema` and
`yamlsource` keep the line numbers that the messages need.
"""
