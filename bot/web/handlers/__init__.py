"""The app's events, one module per tab: each ``wire`` attaches a tab's handlers to its components.

A handler only calls the library (through ``Services``) and renders with ``bot.web.views``. The api_names
are what scripts and the load test call over HTTP: keep them stable.
"""
