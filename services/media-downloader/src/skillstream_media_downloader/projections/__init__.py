"""The downloads read model (``media_downloader`` schema) and the query handlers that read it."""
