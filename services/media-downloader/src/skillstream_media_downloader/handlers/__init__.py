"""The media downloader's handlers: the segment download and the bulk-download job, plain async functions."""
