"""Session recordings read from disk, for a session the daemon no longer has (`ptyd logs`)."""

from ._recordings import newest_recording, recording_dir, write_output

__all__ = ["newest_recording", "recording_dir", "write_output"]
