-- The media-downloader service's own schema: its read models (projection views) and tables live here.
CREATE SCHEMA IF NOT EXISTS media_downloader;
