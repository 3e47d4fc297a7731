"""Pure rules of the media downloader: the segment and course deciders, retry policy, planning values, naming."""
