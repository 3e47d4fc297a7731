"""The only modules that do I/O: catalogue API, CDN, disk, URL signing, the MEDIA_WORK queue."""
