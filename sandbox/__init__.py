"""The sandbox: Cultivate in a browser page with no Slack workspace, on the same request path.

`python -m bot` opens it when no Slack credential is set (`python -m bot sandbox` always).
"""

from sandbox.sandbox import SANDBOX_PATH, Sandbox, SandboxError, running_sandbox

__all__ = ["SANDBOX_PATH", "Sandbox", "SandboxError", "running_sandbox"]
