-- Runtime tables shared by every projection of a service database: the registry of projections and
-- their active generation (blue/green), per-stream checkpoints, and the dead-letter store.
CREATE TABLE IF NOT EXISTS skillstream.projections (
    name              text PRIMARY KEY,
    active_generation integer NOT NULL,
    read_schema       text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS skillstream.projection_checkpoints (
    projection    text NOT NULL,
    generation    integer NOT NULL,
    stream        text NOT NULL,
    last_sequence bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, generation, stream)
);

CREATE TABLE IF NOT EXISTS skillstream.dead_letters (
    id              bigserial PRIMARY KEY,
    projection      text NOT NULL,
    generation      integer NOT NULL,
    stream          text NOT NULL,
    stream_sequence bigint NOT NULL,
    subject         text NOT NULL,
    event_type      text,
    headers         jsonb NOT NULL DEFAULT '{}'::jsonb,
    data            bytea NOT NULL,
    error           text NOT NULL,
    attempts        integer NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (projection, generation, stream, stream_sequence)
);
