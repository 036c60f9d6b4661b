"""What a run leaves: the session summary (JSON), its checks, and the merged matrix."""
