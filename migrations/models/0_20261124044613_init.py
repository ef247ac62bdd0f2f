"""The initial Gencaster schema, for SQLite (embedded default) and PostgreSQL.

aerich writes the SQL of the database it was generated on; this migration holds
the DDL of both dialects and picks the one of the database it is applied to.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

SQLITE_SQL = """
        CREATE TABLE IF NOT EXISTS "graph" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "name" VARCHAR(255) NOT NULL UNIQUE,
    "display_name" VARCHAR(255) NOT NULL,
    "slug_name" VARCHAR(255) NOT NULL UNIQUE,
    "template_name" VARCHAR(7) NOT NULL /* DEFAULT: DEFAULT */,
    "stream_assignment_policy" VARCHAR(20) NOT NULL /* ONE_GRAPH_ONE_STREAM: ONE_GRAPH_ONE_STREAM\nONE_USER_ONE_STREAM: ONE_USER_ONE_STREAM\nDEACTIVATE: DEACTIVATE */,
    "public_visible" INT NOT NULL,
    "start_text" TEXT NOT NULL,
    "about_text" TEXT NOT NULL,
    "end_text" TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS "node" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "color" VARCHAR(32) NOT NULL,
    "position_x" REAL NOT NULL,
    "position_y" REAL NOT NULL,
    "is_entry_node" INT NOT NULL,
    "is_blocking_node" INT NOT NULL,
    "graph_id" CHAR(36) NOT NULL REFERENCES "graph" ("uuid") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "uniq_node_entry_per_graph" ON "node" ("graph_id") WHERE is_entry_node = true;
CREATE TABLE IF NOT EXISTS "node_door" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "door_type" VARCHAR(6) NOT NULL /* INPUT: INPUT\nOUTPUT: OUTPUT */,
    "name" VARCHAR(255) NOT NULL,
    "order" INT NOT NULL,
    "is_default" INT NOT NULL,
    "code" TEXT NOT NULL,
    "node_id" CHAR(36) NOT NULL REFERENCES "node" ("uuid") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "uniq_node_door_default" ON "node_door" ("node_id", "door_type") WHERE is_default = true;
CREATE TABLE IF NOT EXISTS "edge" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "in_node_door_id" CHAR(36) NOT NULL REFERENCES "node_door" ("uuid") ON DELETE CASCADE,
    "out_node_door_id" CHAR(36) NOT NULL REFERENCES "node_door" ("uuid") ON DELETE CASCADE,
    CONSTRAINT "uid_edge_out_nod_a61851" UNIQUE ("out_node_door_id", "in_node_door_id")
) /* Flows from an OUTPUT door (``out_node_door``) to an INPUT door (``in_node_door``). */;
CREATE TABLE IF NOT EXISTS "audio_file" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "file_path" VARCHAR(512) NOT NULL UNIQUE,
    "file_size" BIGINT NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "description" TEXT NOT NULL,
    "auto_generated" INT NOT NULL,
    "duration" REAL,
    "channels" INT,
    "sample_rate" INT
) /* An uploaded or synthesised sound; ``file_path`` is relative to the media root. */;
CREATE TABLE IF NOT EXISTS "audio_cell" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "playback" VARCHAR(14) NOT NULL /* SYNC_PLAYBACK: SYNC_PLAYBACK\nASYNC_PLAYBACK: ASYNC_PLAYBACK */,
    "volume" REAL NOT NULL,
    "audio_file_id" CHAR(36) NOT NULL REFERENCES "audio_file" ("uuid") ON DELETE RESTRICT
);
CREATE TABLE IF NOT EXISTS "script_cell" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "cell_type" VARCHAR(13) NOT NULL /* MARKDOWN: MARKDOWN\nPYTHON: PYTHON\nSUPERCOLLIDER: SUPERCOLLIDER\nCOMMENT: COMMENT\nAUDIO: AUDIO */,
    "cell_code" TEXT NOT NULL,
    "cell_order" INT NOT NULL,
    "node_id" CHAR(36) NOT NULL REFERENCES "node" ("uuid") ON DELETE CASCADE,
    "audio_cell_id" CHAR(36) UNIQUE REFERENCES "audio_cell" ("uuid") ON DELETE SET NULL
);
CREATE TABLE IF NOT EXISTS "server_process" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "hostname" VARCHAR(255) NOT NULL,
    "pid" INT NOT NULL,
    "started" TIMESTAMP NOT NULL,
    "last_seen" TIMESTAMP NOT NULL
) /* A live server process; its heartbeat proves it still holds its listeners. */;
CREATE TABLE IF NOT EXISTS "stream_point" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "host" VARCHAR(255) NOT NULL,
    "port" INT NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "use_input" INT NOT NULL,
    "janus_in_port" INT,
    "janus_out_port" INT,
    "janus_in_room" INT,
    "janus_out_room" INT,
    "janus_public_ip" VARCHAR(255),
    "last_live" TIMESTAMP,
    CONSTRAINT "uid_stream_poin_host_626511" UNIQUE ("host", "port")
) /* A SuperCollider instance, keyed by where it receives instructions. */;
CREATE TABLE IF NOT EXISTS "stream" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "num_listeners" INT NOT NULL,
    "graph_id" CHAR(36) NOT NULL REFERENCES "graph" ("uuid") ON DELETE CASCADE,
    "stream_point_id" CHAR(36) NOT NULL REFERENCES "stream_point" ("uuid") ON DELETE CASCADE
) /* A stream point assigned to the listeners of a graph. */;
CREATE TABLE IF NOT EXISTS "listener_attachment" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "process_id" CHAR(36) NOT NULL REFERENCES "server_process" ("uuid") ON DELETE CASCADE,
    "stream_id" CHAR(36) NOT NULL REFERENCES "stream" ("uuid") ON DELETE CASCADE
) /* One listener attached to a stream, held by the process that owns its socket. */;
CREATE TABLE IF NOT EXISTS "stream_instruction" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "instruction_text" TEXT NOT NULL,
    "state" VARCHAR(14) NOT NULL /* UNACKNOWLEDGED: UNACKNOWLEDGED\nSENT: SENT\nRECEIVED: RECEIVED\nREADY: READY\nSUCCESS: SUCCESS\nFAILURE: FAILURE\nFINISHED: FINISHED */,
    "return_value" TEXT NOT NULL,
    "stream_point_id" CHAR(36) NOT NULL REFERENCES "stream_point" ("uuid") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "stream_log" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "origin" VARCHAR(64),
    "level" SMALLINT NOT NULL /* NOTSET: 0\nDEBUG: 10\nINFO: 20\nWARNING: 30\nERROR: 40\nCRITICAL: 50 */,
    "message" TEXT NOT NULL,
    "name" VARCHAR(255),
    "stream_id" CHAR(36) REFERENCES "stream" ("uuid") ON DELETE SET NULL,
    "stream_point_id" CHAR(36) REFERENCES "stream_point" ("uuid") ON DELETE SET NULL
);
CREATE TABLE IF NOT EXISTS "stream_variable" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "modified_date" TIMESTAMP NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "value" TEXT NOT NULL,
    "stream_to_sc" INT NOT NULL,
    "stream_id" CHAR(36) NOT NULL REFERENCES "stream" ("uuid") ON DELETE CASCADE,
    CONSTRAINT "uid_stream_vari_stream__13b0ca" UNIQUE ("stream_id", "key")
);
CREATE TABLE IF NOT EXISTS "text_to_speech" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMP NOT NULL,
    "ssml_hash" VARCHAR(64) NOT NULL,
    "ssml_text" TEXT NOT NULL,
    "voice" VARCHAR(64) NOT NULL,
    "backend" VARCHAR(32) NOT NULL,
    "audio_file_id" CHAR(36) NOT NULL REFERENCES "audio_file" ("uuid") ON DELETE CASCADE,
    CONSTRAINT "uid_text_to_spe_ssml_ha_7cc20d" UNIQUE ("ssml_hash", "voice", "backend")
) /* A cache: the same SSML in the same voice is synthesised once. */;
CREATE TABLE IF NOT EXISTS "user" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "username" VARCHAR(150) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255) NOT NULL,
    "is_staff" INT NOT NULL,
    "is_active" INT NOT NULL,
    "first_name" VARCHAR(150) NOT NULL,
    "last_name" VARCHAR(150) NOT NULL,
    "email" VARCHAR(254) NOT NULL,
    "date_joined" TIMESTAMP NOT NULL,
    "last_login" TIMESTAMP
);
CREATE TABLE IF NOT EXISTS "session" (
    "uuid" CHAR(36) NOT NULL PRIMARY KEY,
    "token_digest" VARCHAR(64) NOT NULL UNIQUE,
    "created_date" TIMESTAMP NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "user_id" CHAR(36) NOT NULL REFERENCES "user" ("uuid") ON DELETE CASCADE
) /* Only a digest of the session id is stored, so a leaked table opens no session. */;
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""

POSTGRES_SQL = """
        CREATE TABLE IF NOT EXISTS "graph" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "name" VARCHAR(255) NOT NULL UNIQUE,
    "display_name" VARCHAR(255) NOT NULL,
    "slug_name" VARCHAR(255) NOT NULL UNIQUE,
    "template_name" VARCHAR(7) NOT NULL,
    "stream_assignment_policy" VARCHAR(20) NOT NULL,
    "public_visible" BOOL NOT NULL,
    "start_text" TEXT NOT NULL,
    "about_text" TEXT NOT NULL,
    "end_text" TEXT NOT NULL
);
COMMENT ON COLUMN "graph"."template_name" IS 'DEFAULT: DEFAULT';
COMMENT ON COLUMN "graph"."stream_assignment_policy" IS 'ONE_GRAPH_ONE_STREAM: ONE_GRAPH_ONE_STREAM\nONE_USER_ONE_STREAM: ONE_USER_ONE_STREAM\nDEACTIVATE: DEACTIVATE';
CREATE TABLE IF NOT EXISTS "node" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "color" VARCHAR(32) NOT NULL,
    "position_x" DOUBLE PRECISION NOT NULL,
    "position_y" DOUBLE PRECISION NOT NULL,
    "is_entry_node" BOOL NOT NULL,
    "is_blocking_node" BOOL NOT NULL,
    "graph_id" UUID NOT NULL REFERENCES "graph" ("uuid") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "uniq_node_entry_per_graph" ON "node" ("graph_id") WHERE is_entry_node = true;
CREATE TABLE IF NOT EXISTS "node_door" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "door_type" VARCHAR(6) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "order" INT NOT NULL,
    "is_default" BOOL NOT NULL,
    "code" TEXT NOT NULL,
    "node_id" UUID NOT NULL REFERENCES "node" ("uuid") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "uniq_node_door_default" ON "node_door" ("node_id", "door_type") WHERE is_default = true;
COMMENT ON COLUMN "node_door"."door_type" IS 'INPUT: INPUT\nOUTPUT: OUTPUT';
CREATE TABLE IF NOT EXISTS "edge" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "in_node_door_id" UUID NOT NULL REFERENCES "node_door" ("uuid") ON DELETE CASCADE,
    "out_node_door_id" UUID NOT NULL REFERENCES "node_door" ("uuid") ON DELETE CASCADE,
    CONSTRAINT "uid_edge_out_nod_a61851" UNIQUE ("out_node_door_id", "in_node_door_id")
);
COMMENT ON TABLE "edge" IS 'Flows from an OUTPUT door (``out_node_door``) to an INPUT door (``in_node_door``).';
CREATE TABLE IF NOT EXISTS "audio_file" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "file_path" VARCHAR(512) NOT NULL UNIQUE,
    "file_size" BIGINT NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "description" TEXT NOT NULL,
    "auto_generated" BOOL NOT NULL,
    "duration" DOUBLE PRECISION,
    "channels" INT,
    "sample_rate" INT
);
COMMENT ON TABLE "audio_file" IS 'An uploaded or synthesised sound; ``file_path`` is relative to the media root.';
CREATE TABLE IF NOT EXISTS "audio_cell" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "playback" VARCHAR(14) NOT NULL,
    "volume" DOUBLE PRECISION NOT NULL,
    "audio_file_id" UUID NOT NULL REFERENCES "audio_file" ("uuid") ON DELETE RESTRICT
);
COMMENT ON COLUMN "audio_cell"."playback" IS 'SYNC_PLAYBACK: SYNC_PLAYBACK\nASYNC_PLAYBACK: ASYNC_PLAYBACK';
CREATE TABLE IF NOT EXISTS "script_cell" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "cell_type" VARCHAR(13) NOT NULL,
    "cell_code" TEXT NOT NULL,
    "cell_order" INT NOT NULL,
    "node_id" UUID NOT NULL REFERENCES "node" ("uuid") ON DELETE CASCADE,
    "audio_cell_id" UUID UNIQUE REFERENCES "audio_cell" ("uuid") ON DELETE SET NULL
);
COMMENT ON COLUMN "script_cell"."cell_type" IS 'MARKDOWN: MARKDOWN\nPYTHON: PYTHON\nSUPERCOLLIDER: SUPERCOLLIDER\nCOMMENT: COMMENT\nAUDIO: AUDIO';
CREATE TABLE IF NOT EXISTS "server_process" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "hostname" VARCHAR(255) NOT NULL,
    "pid" INT NOT NULL,
    "started" TIMESTAMPTZ NOT NULL,
    "last_seen" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "server_process" IS 'A live server process; its heartbeat proves it still holds its listeners.';
CREATE TABLE IF NOT EXISTS "stream_point" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "host" VARCHAR(255) NOT NULL,
    "port" INT NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "use_input" BOOL NOT NULL,
    "janus_in_port" INT,
    "janus_out_port" INT,
    "janus_in_room" INT,
    "janus_out_room" INT,
    "janus_public_ip" VARCHAR(255),
    "last_live" TIMESTAMPTZ,
    CONSTRAINT "uid_stream_poin_host_626511" UNIQUE ("host", "port")
);
COMMENT ON TABLE "stream_point" IS 'A SuperCollider instance, keyed by where it receives instructions.';
CREATE TABLE IF NOT EXISTS "stream" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "num_listeners" INT NOT NULL,
    "graph_id" UUID NOT NULL REFERENCES "graph" ("uuid") ON DELETE CASCADE,
    "stream_point_id" UUID NOT NULL REFERENCES "stream_point" ("uuid") ON DELETE CASCADE
);
COMMENT ON TABLE "stream" IS 'A stream point assigned to the listeners of a graph.';
CREATE TABLE IF NOT EXISTS "listener_attachment" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "process_id" UUID NOT NULL REFERENCES "server_process" ("uuid") ON DELETE CASCADE,
    "stream_id" UUID NOT NULL REFERENCES "stream" ("uuid") ON DELETE CASCADE
);
COMMENT ON TABLE "listener_attachment" IS 'One listener attached to a stream, held by the process that owns its socket.';
CREATE TABLE IF NOT EXISTS "stream_instruction" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "instruction_text" TEXT NOT NULL,
    "state" VARCHAR(14) NOT NULL,
    "return_value" TEXT NOT NULL,
    "stream_point_id" UUID NOT NULL REFERENCES "stream_point" ("uuid") ON DELETE CASCADE
);
COMMENT ON COLUMN "stream_instruction"."state" IS 'UNACKNOWLEDGED: UNACKNOWLEDGED\nSENT: SENT\nRECEIVED: RECEIVED\nREADY: READY\nSUCCESS: SUCCESS\nFAILURE: FAILURE\nFINISHED: FINISHED';
CREATE TABLE IF NOT EXISTS "stream_log" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "origin" VARCHAR(64),
    "level" SMALLINT NOT NULL,
    "message" TEXT NOT NULL,
    "name" VARCHAR(255),
    "stream_id" UUID REFERENCES "stream" ("uuid") ON DELETE SET NULL,
    "stream_point_id" UUID REFERENCES "stream_point" ("uuid") ON DELETE SET NULL
);
COMMENT ON COLUMN "stream_log"."level" IS 'NOTSET: 0\nDEBUG: 10\nINFO: 20\nWARNING: 30\nERROR: 40\nCRITICAL: 50';
CREATE TABLE IF NOT EXISTS "stream_variable" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "modified_date" TIMESTAMPTZ NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "value" TEXT NOT NULL,
    "stream_to_sc" BOOL NOT NULL,
    "stream_id" UUID NOT NULL REFERENCES "stream" ("uuid") ON DELETE CASCADE,
    CONSTRAINT "uid_stream_vari_stream__13b0ca" UNIQUE ("stream_id", "key")
);
CREATE TABLE IF NOT EXISTS "text_to_speech" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "created_date" TIMESTAMPTZ NOT NULL,
    "ssml_hash" VARCHAR(64) NOT NULL,
    "ssml_text" TEXT NOT NULL,
    "voice" VARCHAR(64) NOT NULL,
    "backend" VARCHAR(32) NOT NULL,
    "audio_file_id" UUID NOT NULL REFERENCES "audio_file" ("uuid") ON DELETE CASCADE,
    CONSTRAINT "uid_text_to_spe_ssml_ha_7cc20d" UNIQUE ("ssml_hash", "voice", "backend")
);
COMMENT ON TABLE "text_to_speech" IS 'A cache: the same SSML in the same voice is synthesised once.';
CREATE TABLE IF NOT EXISTS "user" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "username" VARCHAR(150) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255) NOT NULL,
    "is_staff" BOOL NOT NULL,
    "is_active" BOOL NOT NULL,
    "first_name" VARCHAR(150) NOT NULL,
    "last_name" VARCHAR(150) NOT NULL,
    "email" VARCHAR(254) NOT NULL,
    "date_joined" TIMESTAMPTZ NOT NULL,
    "last_login" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS "session" (
    "uuid" UUID NOT NULL PRIMARY KEY,
    "token_digest" VARCHAR(64) NOT NULL UNIQUE,
    "created_date" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "user_id" UUID NOT NULL REFERENCES "user" ("uuid") ON DELETE CASCADE
);
COMMENT ON TABLE "session" IS 'Only a digest of the session id is stored, so a leaked table opens no session.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""

TABLES = (
    "session", "user", "text_to_speech", "stream_variable", "stream_log", "stream_instruction",
    "listener_attachment", "stream", "stream_point", "server_process", "script_cell",
    "audio_cell", "audio_file", "edge", "node_door", "node", "graph",
)


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES_SQL
    return SQLITE_SQL


async def downgrade(db: BaseDBAsyncClient) -> str:
    return "".join(f'DROP TABLE IF EXISTS "{table}";\n' for table in TABLES)


MODELS_STATE = (
    "eJztXW1z4jgS/isq7stsFTeVkLc59u6qCCEz3BBI8TKzs5MtxwFBvDE2a5vMcHPz30+S32"
    "3ZSGAc29GXBGS1bJ6W5e5H3e0ftaU+g6r5trWeKXobqmqtCX7UNHkJ0Yf4wTqoyauVfwg3"
    "WPKDSnrLuJs0dfs9mJYhTy10ZC6rJkRNM2hODWVlKbqGWrW1quJGfYo6KtrCb1pryl9rKF"
    "n6AlqP0EAHvv6BmhVtBr9D0/26epLmClRnoSter5UZPjs5IlmbFWmdTLpX16QvPuGDNNXV"
    "9VIL9l9trEdd8wRw81sshY8toAYN2YKzwE/BV+r8brfJvmrUYBlr6F3uzG+Ywbm8VjEgtX"
    "/O19oU4wDImfCf0387FxfoJkn9wVgadcaSVOPAb6prGHtFszBYP37a4/qQkNYaPkH7Q2v4"
    "5uT8FwKBbloLgxwkgNV+EkHZkm1RAryP9EqVNw/y9CmOdvtRNjraekkQ76JLkbUpjCEflI"
    "+gjy5+F9zdBh94f+J5kI6+9NvSba/15bLV/siJeFi4CUJf77RW5HArfq6tuqot5e+SCrWF"
    "9Yi+Hp+m6O5Ta0jUd3xK1Kejm82+D/vOkQY5hLXoa+0Z4w/jOrtWddmi3yK+SERNcyxzKE"
    "UdvW3kfztcDSaXvQ64HXba3VF30MdnWW7Mv1T/IG5CDYpFIBh2Wr0IwvYqOFdUKPEtRTHB"
    "LNckFshdBAu1BOGVfv5EXYF8wCjzWTegstA+wk1sFYrAGnzGXTtjlRNdv9V/5hjyN+8pGZ"
    "9hCAb046E7l0fjYbc9rhHM8dL8TTZmUgh8fERv6JEWr2/4kK8p+1d5pkFYVZeO9ECDYx39"
    "GUJVJggk6mpEhnMNki3KcoAouq4I6MvGMgLtUtbkBblKPBwWdjDozBaQZquR9lQzDbo9th"
    "lo+KHwzQRzQ18CWQODyfh2MgYzXTfAm/t7fW1JGhpdwg33978AS8e9uv1gJ0UL9XkbfQge"
    "6BQUA/JrLTRajcyAwPc/hIVZNAtzakCMiYQ6UFb4K9RqKUtIRz0qG0F/5gi/dT+UcNWvoZ"
    "+IFk11464gyUoYd2/Q4t66uSUGjekaNK1xBx9phM0cp/XNecSs9AYBn7vjDwB/Bb8P+p2o"
    "Zr1+499r+JrktaWjG+2bJM8CU9VtdVEL2VBo1VLQ79hN9TFhofui6N7FKKB85+p93QdXZU"
    "4LmiIqbOiIexJ6CnLiS5MVAKc7KTGrY08/pY/+XTlDlRPfrW4KbZqFPJV2a9RuXXVqieuG"
    "wJkFZ8pySYc5I3+Q08N5b8irxxrFxbEPpPo4C6+LYKGFjyB8hJLZicJHeL26Z/ERyP+Yyv"
    "G+E13dbv9s9pm2r6yH1Gpog6hxdsawQ4R6JW4RkWNhF2GmmHhzTuJFOSqX365eufE21fWC"
    "G+yQkJjXLDhbcInmpwVTsN6+bR0bJMe966vOdWvSG3NaaK5YEwTlORVywaCOi0RlXMSmvI"
    "UeTktJNk3klC2hZkkrXVWmm121kjZejgpCTztpMuoMJfxhNB52Wje8ysKS74et2w+BMZqA"
    "1nqnUU5nd4003mlXnVZ73P2EHt14Frifd5kIjSOWG/Mo+b48is6F1foBqUp6VkzlgbaVe6"
    "nrKpQ1+jIYF46o+wFJH0rfXku+7tLlYNALGWqX3XEE7snNZWf45phowY9W6PbHsftQNizJ"
    "gt+tOO5j1Jrw7AlJ5Xh/vYBvOu78Ng6B7U7lNzet334JWca9Qf+92z2gi3ZvcBmNEXnAHB"
    "cv7GEpATs37FCbcYMelBGQM0EeY8OT+cOAS6ejX0RZ/B2x64/bw0IwZVtCDyMxIiRuMO0J"
    "0IgMUiWIDsk/k+lEoZ/daZbMPmtuj0OSzz9q/u+w+W7M4eNO8PvKgMgSRmi5ch4xjYa1SX"
    "9kIxsbaQUNyePK3dlSI2OgK8dfwOcPnWEHKKYjgYXBvwj69saAIMAFAV7claOkJKggwF+v"
    "7otPgL+oBZsDUYhwo8UQJMPrCeSI79/m83k+GJ80GCA+aSQijA9FKB/dVPA1Sd/jKKdkoo"
    "TF8s1GOcrfKsgiG8WDjEKtsiBNY1AF0jSkQxYyJ4sZkxUkJgeJidB7UPXpE7qSHcGPiQv8"
    "OfD3nM8Y7skOX1BGhJCmh5B6DvqeIY1e3Fw5Qd0azxicU7yBjGEikoREZsBGViyANMxI+j"
    "l9+9KSPOl8pcHq0NQkmVsJ9KQ779IpSi9UOj+ekpzWvkNJ1DGZCcycJRFxNVjfSlg6PQVb"
    "KdjKkiwmJWWsBFv5enXPwlb6S31M72zhXaEBihxWWiO56U07Rf1Os/PZm05ee41tHoS4t3"
    "MG6i2qWZ95O48Sb4I3PiRvrBszSOGNu1oCy+b1j8CLrcgDwXt8KHatRspR/L1xfHpx+u7k"
    "/PQd6kIu02tJCyGlkjoBS4+PzgkICiKHg8iZUsmz5NioKZ0tO+TqMMaWfP4gHyQcLeAMsX"
    "oeARHBmqWzZnQmeKc84PJCupUzC0yo3SkzRZNwUaE9aSC3clFFkI5VXRAQ5cqRBVhFCksW"
    "5hyTebJI5TKRTi74KcFPlY2jEPzU69U9Cz+FV/e9+KnQADl6Q+3BzU2nz50QetMafrwafO"
    "43gfvpTrv9Mv4wQC32/zttNLntDNuDXq971Rk2QejrneacuAmcD3daa3LVHTQB+bcL0XV8"
    "wsDHHJ8klzo+iUXxYaVwu7RBoQqwXnn7tAQ/Xh4sLJQfGVYWLkwQBZmWwPPfU7BThe6A4B"
    "7QRssSv2jxBUHAlJGAiXvPtDkeV4FbaJtRAaG3f5RwVjOWRQ/c1iFFoKsA/UmvF9HEXtyE"
    "X2w+6W0rbiX6bW9bcavfby/m3UJu+UrV5RmcAd0A5kazHqGpmOirqa+12a/g/p6Uhl/J1u"
    "P9PVBMYBBC6hniutuoM1jCmSIDQ9eteCHv7IcXhElB1vi6IExemdMsCJPXq3sWwsRbyOmE"
    "CV3nIaHKVSw7O2bJkkO9EhkMcuxnHGdT+S8tpUVZJPrTIbHKuNP/aDROTi4aRyfn785OLy"
    "7O3h15fnX8UJqDfdl93+1HuAyK0138UKm1ZimWCt1rKWPIVPDKYmAn03QRMUHU8Zegwsu7"
    "j1B8fUmLsYoLizgrjjir2dqQ6TM+JSU3KLRjQm4xX4VFAzuLhNzpo6xpkJaclExEB0R2em"
    "4WDOGsiWhTXq6QaWFQLf5EVCNSAlgb2Bh1yhJq5XNVe4YS8bB6RfOs2PITVxBOKQ4KD0jY"
    "ABnrI2+kquB0yLirnmJaGKaWZcnTR1yLt0YhOSm96mlsp+r0l+SwwFbac6BB4AoDWxjOyI"
    "sEgUnK4dXBI/pd4GFDOMiVoU+haaLPsgX0b5oJFMsEpj59ghTSM+vBBeUpKE9BexWW8nTu"
    "X85d47CU2I2nl4LnwzQkJCBN34g3vbKve27Fj6pWP7Ye2QkOTavtr5xz7uwskIXGMzRu/f"
    "EqCnB4LSzS2+bCGqBlDERVlJI0QLpKgenBsD2PDMlnCGxR11L8lRiIj1A2rAdkOODmZ4it"
    "RmReKqoKHnX000gf1wo1KTvzWY4sLNSCrPdpFuoj6s67fRGUKXKGfZE2L1a0CZ1Ig62o0/"
    "mA+3EF579i7yGhbUOku1MBMeFJlcmTUmXTkkwIKVsg6RoPCVZQ5yXRMSVIxFbybqS2x+nt"
    "SWrTWcVyToGcs2Vt145m93pOX4rB6/dhMHTt3mClo98G7Fe22awp5kg9cxPocyADUtORZt"
    "PuNogwX0tgvgqC9bWaBSKmtJq6Z4kp1dZLyVu3OdyqmFxlAh4z865Ege7D7FkQ42O3nYug"
    "qICXZf/ChiyzXYxbvZzMC+dWRnCebd/QEJXm2cDNptK8cHu5g7pUfZHJOzB7+oIBooIFHT"
    "Ih9CwbCr78TGD65AxWpel0eBYFr4/GeupccQKhEuxU386tSEqkvyhEJjgQwYGUzA8WHMjr"
    "1T0LBxJY5LlfVE+TrcRGft6Zcci5od14bJXgPOEcUxIn/Vb7Y3/wude5et+54nzORaSbIP"
    "z9ThuROm8jUuRt2Gl3up9wL/cTbmtdfcEN6B8uG9dud0YjXDCOfLjTrlvd3mTYaQLnA2rp"
    "9rujD3gU91N0f4clouP4lCGg4/g0uWDcaTScw4DW2tCkZ1ldc9WMi8qJbNQd7jlBqAlCrV"
    "COYn1XQu2F4lc9XiPR5XRIj62upur0Ey6mcDGFi1kyN4PFxdQNZaFQQu+So4N9iZ2Mm4IR"
    "qZFXbLEYkufJhuR5zJBU4TOk1F3satZ2B8KTzW8bu8G5j11Dx9ChJji60646l5P3+LVSd1"
    "q3fz3Ag91pn1vDfrePmk/Ql85wOBg2wSn62B52x912q9cEZ0eMJr+9E37SuDj3NsHxl7T9"
    "79FNq9eLb4IvoWnKCy7DPiAiPOldXnCUZwmlQq8xB0k/eNHMyYLBXbG4jsqgW1QvtJgA7+"
    "2E+sWK49M6M4wrDy97Feic3Xt7dic6+N7k3+riezcdS7z+aL2CRltXVWUGDaA4s6QOnuAG"
    "ktom35CPD3HuqAGnUCF5pP5mBDUjNYshKSTDV5LGaC9FhlX7Q5AOL/NEFaSDIB3Evvbr0D"
    "3Lvra7KrM6gt4qXgWvO49EdPy0i+GbnInudBep6OWs+3yoR34OM3VtQknRVmvet7qH5ESx"
    "YY5iw3/K2tpE2Emci0RMTtRtTQIXv915J3SDggLelLlr6DqFv9g+d105AW7a3N0J3aCggD"
    "cJ3tX6QVWmkrLiMSkoomJLhMm8IOVhcLkzXgczJJiBc1kw6MvrS9pEwk5lZWyuM5NEqBL6"
    "RUzZYkFSNQucIllNVYRMpCC+TFadl4uYuP0RzFbcugPyHOycaaTj18B+2xPciF0IsQtRsn"
    "WwpEy02IV4vbpn2YXAi3FM48lemNNd7EGwuV7caVMiX2rvfCk0180pJ5MeFRVkOgeZ/qIh"
    "l0VbVA4YFRiHV7ysos7/soqXiVULvTWN4q1F36qW7KvhPHayUvl9GeLVpvg1XE1SCNZEZw"
    "aj0U0PKJrf8KwrUwgUE5gbDTWaiglnQEeziRaqtudodAfRXKrSo2ySn0Tkaw76UJsJh1E4"
    "jCVbskrqNLA4jKFbldV1CAlV0IHIPmWOIMZb8iQkVAmY8/YjvGcP68z2BCoB96FntftE5w"
    "A4IFJBiE8aDBCfNBIhxoei77HHL0SeKyrk9MpigsIzS/fMfMAy8M7I66evlUqVlqxHHLTY"
    "DCuSkzaCpplUoNI5VE9/x53fieElzOoGyGCmLKBp4XdyEOfJHgEoM+I8WWgKzerAxC9PVq"
    "H8hN/mgU8G9BXUTKDprgDtNcxZDy8KmBRkPaqnOGWWjp6Ukq11nkdsVC6b5+x2zEtsyAj/"
    "97X6v/D7SkGjSTLlFkvXe1iygloviZYTg+oieRkGpwEdEBGmc7rpjKHKwGieOMOUE9Kt9n"
    "JgQhXJUiaoU8xkVxvJNrKrdlFJr9qGKNYzb9pgUKZyBujx2RGDBYp6JVfnxcciSa6yaX7T"
    "0d3My8bHBCtIrB0kpEcxJfRIms/jYKdGmATFRHQJR3QJAg49JajZK9sA9+VyRNxdYEoL+F"
    "wxTEviXbrDUhWIXsth8Sb5VbxAh4QEziw4w6WsUEqPJmPsCVQO38YZCw2GeqU8EmNEGKYr"
    "pD91RYMU2zqdD4mIVpAQqTANZueH6tSyySyZpTq9fLJILX1xFmy31FJ7r2jfREB/D61kd/"
    "qL5AG2oKHQI0qdI/U0Mkb2+7wIHUMjYxJLLFCZGEpZBWctKC4tkElRhWTm5Rka7h3EHMHk"
    "iwgegI0HwDcVB8JO9wqie3zEZLIfpZjsRzGTHZ3RgrQSyP8ZDfoJW6q+SNSgUKYW+B9QFb"
    "OMtdxSwMVghMyIWPhjNNIxYh/gAS5p2zR57ir8/D/Sbgww"
)
