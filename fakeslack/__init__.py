"""A local stand-in for Slack: a checked, recording Web API server and signed inbound requests.

Used by the tests, and by the browser sandbox mode, so the app can run with no slack.com.
"""

from fakeslack.requests import SlackRequests, element_action, state_values
from fakeslack.server import Call, FakeSlack
from fakeslack.workspace import Workspace

__all__ = ["Call", "FakeSlack", "SlackRequests", "Workspace", "element_action", "state_values"]
