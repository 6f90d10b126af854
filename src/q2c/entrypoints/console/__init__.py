"""The web console: server-rendered pages over the same store and workflow functions as the HTTP API.

`console_app` builds it as an app of its own, which `http_api.create_app` mounts at /console: its pages
answer in HTML (an error is a page that says why, not the API's JSON), it signs people in with sessions
(`session`), and it is held to the same roles as the API (viewer reads, operator works the exception queue).
"""

from q2c.entrypoints.console.app import console_app

__all__ = ["console_app"]
