"""ptyd.attach: join a session's terminal live, and leave it running.

It never imports the daemon; it uses the client library and `ptyd.proto`.
"""

from .viewer import Attachment, AttachOptions, attach

__all__ = ["AttachOptions", "Attachment", "attach"]
